"""The plan: which processor tasks extract which bags. Pure data, built once.

Executors only run a plan. Paths in a plan are relative to a data root (the
data lake container); each executor decides where that root is: the NFS mount
on a Batch node, a local folder on a laptop.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import PurePosixPath
from urllib.parse import quote

from orchestrator.discovery import Bag
from orchestrator.ids import task_id
from orchestrator.outcome import BagStatus
from orchestrator.passthrough import ProcessorOptions

# The processor's --column-names (processor/options.py COLUMN_NAMES): `header.stamp.sec`, or
# `header_stamp_sec` that Spark SQL reads unquoted.
COLUMN_NAMES = ("dotted", "underscore")
FORMATS = ("csv", "parquet")
GIB = 1024**3


class PlanError(ValueError):
    """Planning options that cannot work (message names the option and the fix)."""


@dataclass(frozen=True)
class DataPath:
    """A path relative to the data root, placed by the executor that runs the task."""

    relative: PurePosixPath

    def under(self, data_root: str) -> str:
        return str(PurePosixPath(data_root) / self.relative)


Arg = str | DataPath


class TaskKind(StrEnum):
    EXTRACT = "extract"  # a whole bag
    SHARD = "shard"  # one part of a large bag (`extract --shard I/N`)
    MERGE = "merge"  # combines a large bag's parts


@dataclass(frozen=True)
class TaskSpec:
    """One processor run: `python -m processor <args>`."""

    id: str
    kind: TaskKind
    bag: PurePosixPath
    args: tuple[Arg, ...]
    depends_on: tuple[str, ...] = ()
    shard: int | None = None
    max_retries: int = 2
    required_slots: int = 1

    def processor_args(self, data_root: str) -> list[str]:
        """The processor's arguments with every data path placed under `data_root`."""
        return [arg.under(data_root) if isinstance(arg, DataPath) else arg for arg in self.args]


@dataclass(frozen=True)
class BagPlan:
    bag: Bag
    result_dir: PurePosixPath  # relative to the data root: where the bag's output lands
    shards: int  # 1 when the bag is extracted by a single task
    already_done: bool  # the output was complete before this run: no task
    task_ids: tuple[str, ...]  # its tasks, in order; the last one decides the bag's outcome
    # Held back with no task, and why: quarantined, waiting (an incomplete ROS 2 folder) or
    # busy (another run's claim). None: the bag is done or has its tasks.
    held: tuple[BagStatus, str] | None = None
    source_id: str = ""  # what the bag was made of when planned (orchestrator/source.py)

    @property
    def final_task_id(self) -> str:
        return self.task_ids[-1]


@dataclass(frozen=True)
class Plan:
    job_id: str
    input_path: PurePosixPath
    output_path: PurePosixPath
    output_format: str
    bags: tuple[BagPlan, ...]
    tasks: tuple[TaskSpec, ...]

    @property
    def pending_bags(self) -> list[BagPlan]:
        return [bag for bag in self.bags if not bag.already_done and bag.held is None]


@dataclass(frozen=True)
class PlanOptions:
    output_format: str = "csv"
    shard_size_bytes: int = 4 * GIB  # bags larger than this are split
    max_shards: int = 16
    max_retries: int = 2  # transient failures, retried by the orchestrator (executors/retries.py)
    force: bool = False  # re-extract bags whose output is already complete
    topics: tuple[str, ...] = field(default_factory=tuple)
    column_names: str = "dotted"
    # The data root's URL (adf.ActivitySettings.data_lake_url): each bag's URL is this plus its
    # path, passed to the processor as --source-url for manifest.json. '' passes none.
    source_root_url: str = ""
    # --start, --sync, --video...: passed as given to every extract task (passthrough.py).
    processor: ProcessorOptions = field(default_factory=ProcessorOptions)

    def __post_init__(self) -> None:
        if self.output_format not in FORMATS:
            raise PlanError(
                f"format {self.output_format!r} is not supported: use one of {', '.join(FORMATS)}"
            )
        if self.column_names not in COLUMN_NAMES:
            raise PlanError(
                f"column names {self.column_names!r} are not supported: use one of "
                f"{', '.join(COLUMN_NAMES)}"
            )
        if self.shard_size_bytes <= 0:
            raise PlanError("--shard-size-gb must be a positive number of GiB (default: 4)")
        if self.max_shards < 1:
            raise PlanError("max shards must be at least 1")
        if self.max_retries < 0:
            raise PlanError("max retries must be 0 or more")


def shard_count(size_bytes: int, options: PlanOptions) -> int:
    """How many tasks share a bag: 1 up to the shard size, then one per shard size."""
    return max(1, min(options.max_shards, math.ceil(size_bytes / options.shard_size_bytes)))


def build_plan(
    job_id: str,
    input_path: PurePosixPath,
    output_path: PurePosixPath,
    bags: Sequence[Bag],
    options: PlanOptions,
    completed: Collection[PurePosixPath] = (),
    held: Mapping[PurePosixPath, tuple[BagStatus, str]] | None = None,
    source_ids: Mapping[PurePosixPath, str] | None = None,
) -> Plan:
    """Tasks for every bag whose output is not complete yet.

    `completed` holds the result folders (relative to the data root) that already
    carry the processor's `_SUCCESS` marker: those bags get no task, so running
    the same request twice does nothing the second time. `held` (by bag path) get no task
    either, whatever `force` says: a waiting folder is not whole, a busy bag is another run's.
    A bag waiting in discovery (`Bag.waiting`) is held as waiting.
    """
    held = dict(held or {})
    for bag in bags:
        if bag.waiting and bag.path not in held:
            held[bag.path] = (BagStatus.WAITING, bag.waiting)
    bag_plans: list[BagPlan] = []
    tasks: list[TaskSpec] = []
    for bag in bags:
        out_dir = output_path / bag.output_subdir
        result_dir = out_dir / bag.name
        done = result_dir in completed and not options.force
        hold = None if done else held.get(bag.path)
        shards = shard_count(bag.size_bytes, options)
        bag_tasks = _tasks_for_bag(bag, out_dir, shards, options)
        bag_plans.append(
            BagPlan(
                bag,
                result_dir,
                shards,
                done,
                tuple(task.id for task in bag_tasks),
                hold,
                (source_ids or {}).get(bag.path, ""),
            )
        )
        if not done and hold is None:
            tasks.extend(bag_tasks)
    return Plan(
        job_id=job_id,
        input_path=input_path,
        output_path=output_path,
        output_format=options.output_format,
        bags=tuple(bag_plans),
        tasks=tuple(tasks),
    )


def _tasks_for_bag(
    bag: Bag, out_dir: PurePosixPath, shards: int, options: PlanOptions
) -> list[TaskSpec]:
    source, target = DataPath(bag.path), DataPath(out_dir)
    extract_args: tuple[Arg, ...] = ("extract", source, target, "--format", options.output_format)
    if options.column_names != "dotted":  # the processor's default: command lines stay as they were
        extract_args += ("--column-names", options.column_names)
    if options.source_root_url:
        url = f"{options.source_root_url.rstrip('/')}/{quote(str(bag.path))}"
        extract_args += ("--source-url", url)
    passed = options.processor.processor_args()
    if options.topics:
        # A fleet's bags differ: each extracts the listed topics it has, and the report names
        # the bags with none of them and the topics in no bag (report.py topic_notes).
        extract_args += ("--topics", *options.topics, "--missing-topics", "skip")
    elif any(arg.startswith("--sync") for arg in passed):
        # Likewise a bag without the sync topics gets no sync table, and is not failed (a failed
        # bag would be quarantined as unreadable; docs/processor.md "Synchronized tables").
        extract_args += ("--missing-topics", "skip")
    extract_args += passed
    key = str(bag.path)
    if shards == 1:
        return [
            TaskSpec(
                id=task_id(TaskKind.EXTRACT, key),
                kind=TaskKind.EXTRACT,
                bag=bag.path,
                args=extract_args,
                max_retries=options.max_retries,
            )
        ]
    parts = [
        TaskSpec(
            id=task_id(TaskKind.SHARD, key, shard=index),
            kind=TaskKind.SHARD,
            bag=bag.path,
            args=(*extract_args, "--shard", f"{index}/{shards}"),
            shard=index,
            max_retries=options.max_retries,
        )
        for index in range(1, shards + 1)
    ]
    merge = TaskSpec(
        id=task_id(TaskKind.MERGE, key),
        kind=TaskKind.MERGE,
        bag=bag.path,
        args=("merge", source, target, "--shards", str(shards)),
        depends_on=tuple(part.id for part in parts),
        max_retries=options.max_retries,
    )
    return [*parts, merge]
