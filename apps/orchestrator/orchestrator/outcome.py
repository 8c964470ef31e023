"""What happened to each task and each bag: the common language of executors and reports."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath

# The processor's exit codes (contracts §2).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_PARTIAL = 3


@dataclass(frozen=True)
class TaskOutcome:
    """A finished (or abandoned) task. `exit_code` is None when the task never ran to an end."""

    task_id: str
    exit_code: int | None
    reason: str = ""  # why it failed, when the runner knows (scheduling error, timeout, ...)
    stderr_tail: str = ""
    seconds: float | None = None
    retries: int = 0
    started: datetime.datetime | None = None  # of its last run (UTC)
    ended: datetime.datetime | None = None
    # The run stopped (timeout) before this task ever started: its bag is `not started`.
    never_started: bool = False

    @property
    def succeeded(self) -> bool:
        return self.exit_code in (EXIT_OK, EXIT_PARTIAL)


class BagStatus(StrEnum):
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"  # complete as described; some topics could not be decoded
    FAILED = "failed"
    UNCHANGED = "unchanged"  # output already complete before this run: nothing done
    NOT_RUN = "not started"  # no task of it started (the run timed out or ended first)
    # Held back, not failed (docs/orchestrator.md "Exactly once"):
    QUARANTINED = "quarantined"  # unreadable when last tried, and unchanged since
    WAITING = "waiting"  # a ROS 2 folder whose metadata.yaml lists files not there yet
    BUSY = "busy"  # another run holds its claim and is extracting it now


@dataclass(frozen=True)
class OutputCounts:
    topics: int = 0
    messages: int = 0
    files: int = 0  # tables and side files, as the manifest lists them
    known: bool = True  # False: the manifest could not be read (in time)
    # (topic, why) of each topic the processor skipped, as its manifest lists them.
    skipped: tuple[tuple[str, str], ...] = ()
    # The --topics topics the bag lacks, and every topic it has; None: not recorded (a
    # processor before 0.3.0 or no manifest).
    absent_topics: tuple[str, ...] | None = None
    bag_topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class BagResult:
    bag: PurePosixPath
    status: BagStatus
    output: PurePosixPath
    counts: OutputCounts
    seconds: float | None = None
    failed_task: TaskOutcome | None = None
    note: str = ""  # why a held bag was held (quarantined, waiting, busy)

    @property
    def ok(self) -> bool:
        return self.status in (
            BagStatus.SUCCEEDED,
            BagStatus.PARTIAL,
            BagStatus.UNCHANGED,
            BagStatus.QUARANTINED,
            BagStatus.WAITING,
            BagStatus.BUSY,
        )
