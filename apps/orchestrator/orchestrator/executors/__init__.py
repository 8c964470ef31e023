"""Executors turn a plan into work: `local` (processes here) and `batch` (Azure Batch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from orchestrator.outcome import TaskOutcome
from orchestrator.plan import Plan

# Where Batch mounts a pool's file systems on a node (learn.microsoft.com/azure/batch/
# virtual-file-mount): set by Batch for every task, container tasks included.
MOUNTS_DIR_ENV = "AZ_BATCH_NODE_MOUNTS_DIR"


@dataclass(frozen=True)
class Progress:
    """Task counts at one moment, as Batch reports them for a job."""

    total: int
    active: int
    running: int
    succeeded: int
    failed: int

    @property
    def completed(self) -> int:
        return self.succeeded + self.failed


ProgressSink = Callable[[Progress], None]


@dataclass(frozen=True)
class Execution:
    """What an executor reports back: one outcome per task it knows about."""

    job_id: str
    outcomes: dict[str, TaskOutcome] = field(default_factory=dict)
    timed_out: bool = False
    previously_completed: bool = False  # the job had finished before: reported, not re-run
    ended: str = ""  # why the job ended before its tasks did (someone else terminated it)


class ExecutorError(RuntimeError):
    """The service running the tasks refused or failed a request (message says which and why)."""


class Executor(Protocol):
    def run(self, plan: Plan, on_progress: ProgressSink) -> Execution: ...
