"""Planning: one task per bag, shards plus a merge for large bags, nothing for finished bags."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from orchestrator.discovery import Bag
from orchestrator.plan import GIB, PlanError, PlanOptions, TaskKind, build_plan, shard_count

RAW, OUT = PurePosixPath("raw"), PurePosixPath("extracted")


def bag(path: str, size: int, subdir: str = "") -> Bag:
    return Bag(PurePosixPath(path), size, PurePosixPath(subdir))


def test_small_bag_is_one_extract_task() -> None:
    plan = build_plan("job", RAW, OUT, [bag("raw/2026/a.bag", 10, "2026")], PlanOptions())

    [task] = plan.tasks
    assert task.kind is TaskKind.EXTRACT
    assert task.processor_args("/mnt/data") == [
        "extract", "/mnt/data/raw/2026/a.bag", "/mnt/data/extracted/2026", "--format", "csv",
    ]  # fmt: skip
    assert task.depends_on == ()
    [planned] = plan.bags
    assert planned.result_dir == PurePosixPath("extracted/2026/a")
    assert planned.final_task_id == task.id


def test_large_bag_is_sharded_with_a_merge_that_waits_for_every_shard() -> None:
    options = PlanOptions(output_format="parquet", shard_size_bytes=1 * GIB)
    plan = build_plan("job", RAW, OUT, [bag("raw/big.bag", int(2.5 * GIB))], options)

    *shards, merge = plan.tasks
    assert [task.kind for task in shards] == [TaskKind.SHARD] * 3
    assert [task.processor_args("/d")[-2:] for task in shards] == [
        ["--shard", "1/3"], ["--shard", "2/3"], ["--shard", "3/3"],
    ]  # fmt: skip
    assert all("parquet" in task.processor_args("/d") for task in shards)
    assert merge.kind is TaskKind.MERGE
    assert merge.processor_args("/d") == [
        "merge",
        "/d/raw/big.bag",
        "/d/extracted",
        "--shards",
        "3",
    ]
    assert merge.depends_on == tuple(task.id for task in shards)
    assert plan.bags[0].final_task_id == merge.id
    assert len({task.id for task in plan.tasks}) == 4


@pytest.mark.parametrize(
    ("size", "expected"),
    [(0, 1), (4 * GIB, 1), (4 * GIB + 1, 2), (10 * GIB, 3), (1000 * GIB, 16)],
)
def test_shard_count_grows_with_size_up_to_the_cap(size: int, expected: int) -> None:
    assert shard_count(size, PlanOptions()) == expected


def test_bags_already_extracted_get_no_task_unless_forced() -> None:
    bags = [bag("raw/a.bag", 10), bag("raw/b.bag", 10)]
    done = {PurePosixPath("extracted/a")}

    plan = build_plan("job", RAW, OUT, bags, PlanOptions(), completed=done)
    assert [task.bag for task in plan.tasks] == [PurePosixPath("raw/b.bag")]
    assert [planned.already_done for planned in plan.bags] == [True, False]

    forced = build_plan("job", RAW, OUT, bags, PlanOptions(force=True), completed=done)
    assert len(forced.tasks) == 2


def test_topics_are_passed_to_every_extract() -> None:
    options = PlanOptions(topics=("/imu/data", "/odom"))
    [task] = build_plan("job", RAW, OUT, [bag("raw/a.bag", 1)], options).tasks
    # Each bag of a fleet extracts the listed topics it has (report.py topic_notes).
    assert task.processor_args("/d")[-5:] == [
        "--topics",
        "/imu/data",
        "/odom",
        "--missing-topics",
        "skip",
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"output_format": "xlsx"},
        {"shard_size_bytes": 0},
        {"max_shards": 0},
        {"max_retries": -1},
    ],
)
def test_impossible_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(PlanError):
        PlanOptions(**options)  # type: ignore[arg-type]
