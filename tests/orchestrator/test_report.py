"""Per-bag results, the summary table and the failure notes ADF shows."""

from __future__ import annotations

import json
import time
from pathlib import Path, PurePosixPath

import pytest

from orchestrator import manifest as manifest_module
from orchestrator.discovery import Bag
from orchestrator.executors import Execution
from orchestrator.manifest import read_all_counts, read_counts
from orchestrator.outcome import BagStatus, OutputCounts, TaskOutcome
from orchestrator.plan import Plan, PlanOptions, build_plan
from orchestrator.report import CountsReader, bag_results, failure_notes, summary_table

COUNTS = OutputCounts(topics=2, messages=10, files=4)


def each(counts: OutputCounts) -> CountsReader:
    return lambda result_dirs: dict.fromkeys(result_dirs, counts)


def plan_of(*sizes: int, done: tuple[str, ...] = ()) -> Plan:
    bags = [
        Bag(PurePosixPath(f"raw/b{i}.bag"), size, PurePosixPath()) for i, size in enumerate(sizes)
    ]
    completed = {PurePosixPath(f"extracted/{name}") for name in done}
    return build_plan(
        "job", PurePosixPath("raw"), PurePosixPath("extracted"), bags,
        PlanOptions(shard_size_bytes=100), completed,
    )  # fmt: skip


def test_status_per_bag_from_its_tasks() -> None:
    plan = plan_of(10, 10, 10, 250, done=("b2",))
    ok, partial, _unchanged, sharded = plan.bags
    shard_ids = sharded.task_ids[:-1]
    outcomes = {
        ok.final_task_id: TaskOutcome(ok.final_task_id, 0, seconds=1.5),
        partial.final_task_id: TaskOutcome(partial.final_task_id, 3, seconds=2.0),
        shard_ids[0]: TaskOutcome(shard_ids[0], 0),
        shard_ids[1]: TaskOutcome(shard_ids[1], 1, stderr_tail="Traceback\nMemoryError\n"),
        shard_ids[2]: TaskOutcome(shard_ids[2], 0),
        sharded.final_task_id: TaskOutcome(sharded.final_task_id, 2, stderr_tail="part missing"),
    }

    results = bag_results(plan, Execution("job", outcomes), each(COUNTS))

    assert [result.status for result in results] == [
        BagStatus.SUCCEEDED, BagStatus.PARTIAL, BagStatus.UNCHANGED, BagStatus.FAILED,
    ]  # fmt: skip
    # The failed shard explains the bag, not the merge it starved.
    assert results[3].failed_task is not None
    assert results[3].failed_task.task_id == shard_ids[1]
    assert results[3].counts == OutputCounts()
    assert results[0].counts == COUNTS and results[0].seconds == 1.5


def test_a_bag_without_outcome_was_not_run() -> None:
    plan = plan_of(10)
    [result] = bag_results(plan, Execution("job", {}, timed_out=True), each(COUNTS))
    assert result.status is BagStatus.NOT_RUN and not result.ok


def test_summary_table_has_a_row_per_bag_and_totals() -> None:
    plan = plan_of(10, 10)
    outcomes = {
        bag.final_task_id: TaskOutcome(bag.final_task_id, 0, seconds=1.0) for bag in plan.bags
    }
    results = bag_results(plan, Execution("job", outcomes), each(COUNTS))

    lines = summary_table(results, seconds=3.25).splitlines()

    assert lines[0].split() == ["bag", "status", "topics", "messages", "files", "seconds"]
    assert lines[2].split() == ["raw/b0.bag", "succeeded", "2", "10", "4", "1.0"]
    assert lines[-1].split() == ["2", "bags", "4", "20", "8", "3.2"]
    assert len({len(line) for line in lines if not line.startswith("2 bags")}) <= 2


def test_failure_notes_name_task_exit_code_and_last_stderr_lines() -> None:
    plan = plan_of(10)
    task = plan.bags[0].final_task_id
    stderr = "\n".join(f"line {i}" for i in range(20))
    outcome = TaskOutcome(task, 2, reason="FailureExitCode: exited 2", stderr_tail=stderr)
    results = bag_results(plan, Execution("job", {task: outcome}), each(COUNTS))

    [note] = failure_notes(results)

    assert note.splitlines()[0] == f"FAILED raw/b0.bag: task {task} exit code 2"
    assert "reason: FailureExitCode: exited 2" in note
    assert note.splitlines()[-5:] == [f"  stderr: line {i}" for i in range(15, 20)]


def write_manifest(folder: Path, document: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = document if isinstance(document, str) else json.dumps(document)
    (folder / "manifest.json").write_text(text, encoding="utf-8")


def test_counts_come_from_the_processor_manifest_not_a_walk(tmp_path: Path) -> None:
    # The schema of docs/processor.md: `files` lists tables and side-file folders ("/"),
    # `side_files` counts the frames in them, which are not listed one by one.
    manifest = {
        "messages": 6121,
        "topics": [
            {"topic": "/imu", "messages": 3061, "files": ["imu.csv"], "side_files": 0},
            {"topic": "/camera", "messages": 3060, "files": ["camera.csv", "camera/"],
             "side_files": 3060},
        ],
        "skipped": [],
    }  # fmt: skip
    write_manifest(tmp_path, manifest)
    (tmp_path / "stray.tmp").write_text("not the processor's", encoding="utf-8")

    assert read_counts(tmp_path) == OutputCounts(topics=2, messages=6121, files=3062)
    assert read_counts(tmp_path / "missing") == OutputCounts(known=False)
    write_manifest(tmp_path, '{"messages": 9, "topics": [{}]}')
    assert read_counts(tmp_path) == OutputCounts(topics=1, messages=9, files=0)
    write_manifest(tmp_path, "{cut short")
    assert read_counts(tmp_path) == OutputCounts(known=False)


def test_reading_counts_is_bounded_in_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "hung", "c"):
        write_manifest(tmp_path / name, {"messages": 1, "topics": [{"messages": 1}]})
    real = manifest_module.read_counts

    def hang_on_one(folder: Path) -> OutputCounts:
        if folder.name == "hung":
            time.sleep(30)  # an NFS read that does not come back
        return real(folder)

    monkeypatch.setattr(manifest_module, "read_counts", hang_on_one)
    started = time.monotonic()

    found = read_all_counts(
        [tmp_path / name for name in ("a", "hung", "c")], budget_seconds=0.5, workers=2
    )

    assert time.monotonic() - started < 5
    assert found[tmp_path / "a"] == found[tmp_path / "c"] == OutputCounts(topics=1, messages=1)
    assert found[tmp_path / "hung"] == OutputCounts(known=False)
