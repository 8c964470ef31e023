"""What `ops run` observes of a pipeline run while it follows it, and what it ends with."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# Pipeline run statuses: learn.microsoft.com/rest/api/datafactory/pipeline-runs/get
PIPELINE_TERMINAL = frozenset({"Succeeded", "Failed", "Cancelled"})
# A pipeline run's parameters: strings, and booleans for the processor's switches (`video`).
Parameters = dict[str, str | bool]


class Verdict(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed out"


@dataclass(frozen=True)
class TaskCounts:
    """The Batch job's task counts (one cheap call, whatever the number of tasks)."""

    active: int
    running: int
    succeeded: int
    failed: int

    @property
    def total(self) -> int:
        return self.active + self.running + self.succeeded + self.failed

    def describe(self) -> str:
        done = self.succeeded + self.failed
        return (
            f"tasks {done}/{self.total} done ({self.failed} failed), "
            f"{self.running} running, {self.active} waiting"
        )


@dataclass(frozen=True)
class TasksUnknown:
    """Batch did not give the task counts on this poll (refused, busy, or unreachable)."""

    reason: str  # e.g. "Batch 503 ServerBusy, retrying"

    def describe(self) -> str:
        return f"tasks unknown ({self.reason})"


@dataclass(frozen=True)
class ActivityError:
    code: str
    message: str
    failure_type: str

    def describe(self) -> str:
        kind = f"{self.failure_type} " if self.failure_type else ""
        code = f" {self.code}" if self.code else ""
        return f"{kind}error{code}: {self.message}"


@dataclass(frozen=True)
class ActivityState:
    name: str
    status: str
    error: ActivityError | None = None
    output: dict[str, Any] | None = None


@dataclass(frozen=True)
class Snapshot:
    """One poll: everything the progress line shows."""

    elapsed_seconds: float
    pipeline_status: str
    activities: tuple[ActivityState, ...]
    job_id: str
    tasks: TaskCounts | TasksUnknown | None  # None until the orchestrator has created the job

    def key(self) -> tuple[object, ...]:
        """What counts as a change worth a new progress line (not the clock)."""
        return (
            self.pipeline_status,
            tuple((activity.name, activity.status) for activity in self.activities),
            self.tasks,
        )


@dataclass
class RunResult:
    run_id: str
    verdict: Verdict
    pipeline_status: str
    message: str
    duration_seconds: float
    parameters: Parameters
    job_id: str
    activities: tuple[ActivityState, ...] = ()
    tasks: TaskCounts | None = None
    notes: list[str] = field(default_factory=list)  # what ops did on the way (cancel, ...)

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.SUCCEEDED

    @property
    def custom_output(self) -> dict[str, Any] | None:
        """The orchestrator's outputs.json, as ADF returns it in the activity output."""
        for activity in self.activities:
            if activity.output and isinstance(activity.output.get("customOutput"), dict):
                return activity.output["customOutput"]
        return None

    @property
    def activity_log_urls(self) -> list[str]:
        """stdout/stderr of the Custom activity's task (ADF copies them to `adfjobs`)."""
        urls: list[str] = []
        for activity in self.activities:
            outputs = (activity.output or {}).get("outputs")
            if isinstance(outputs, list):
                urls.extend(url for url in outputs if isinstance(url, str))
        return urls
