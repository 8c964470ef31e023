"""Start the `extract-bags` pipeline through the Data Factory management API and follow it to
the end: pipeline status, activity status and the Batch job's task counts, polled cheaply."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.batch import BatchClient

# azure-batch 15.1 does not export this model, yet terminating a job without it sends no body
# and fails client-side ("No value for given attribute" for the content type).
from azure.batch.models._models import BatchJobTerminateOptions
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.datafactory import DataFactoryManagementClient
from azure.mgmt.datafactory.models import ActivityRun, RunFilterParameters

from ops.azure_errors import BATCH_ROLE, error_label
from ops.progress import ProgressPrinter, clock_text
from ops.run_state import (
    PIPELINE_TERMINAL,
    ActivityError,
    ActivityState,
    Parameters,
    RunResult,
    Snapshot,
    TaskCounts,
    TasksUnknown,
    Verdict,
)
from ops.stack_outputs import StackOutputs
from orchestrator.ids import job_id_for_run

_VERDICTS = {
    "Succeeded": Verdict.SUCCEEDED,
    "Failed": Verdict.FAILED,
    "Cancelled": Verdict.CANCELLED,
}


@dataclass(frozen=True)
class FollowOptions:
    timeout_seconds: float
    poll_seconds: float = 15.0
    # On timeout, cancel the pipeline run and terminate its Batch job so nothing keeps running
    # (and billing) after the command has given up on it.
    cancel_on_timeout: bool = True


@dataclass
class PipelineRunner:
    outputs: StackOutputs
    factory: DataFactoryManagementClient
    batch: BatchClient
    progress: ProgressPrinter
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    # Set once Batch has refused the caller (403/401): no role appears mid-run, so stop asking.
    _batch_refusal: TasksUnknown | None = field(default=None, init=False)
    _notes: list[str] = field(default_factory=list, init=False)

    def start(self, parameters: Parameters) -> str:
        response = self.factory.pipelines.create_run(
            self.outputs.resource_group_name,
            self.outputs.data_factory_name,
            self.outputs.pipeline_name,
            parameters=dict(parameters),
        )
        if not response.run_id:
            raise RuntimeError("Data Factory accepted the run but returned no run id")
        return response.run_id

    def follow(self, run_id: str, parameters: Parameters, options: FollowOptions) -> RunResult:
        """Poll until the run ends or the timeout passes. Transient HTTP failures are retried by
        the SDK clients' own retry policy (exponential back-off on 408/429/5xx and resets)."""
        started = self.clock()
        deadline = started + options.timeout_seconds
        # Activity runs are queried by a "last updated" window: open it wide around this command.
        window_start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        job_id = job_id_for_run(run_id)
        known_counts: TaskCounts | None = None
        while True:
            try:
                run = self.factory.pipeline_runs.get(
                    self.outputs.resource_group_name, self.outputs.data_factory_name, run_id
                )
                activities = self._activities(run_id, window_start)
            except (HttpResponseError, ServiceRequestError, ServiceResponseError) as error:
                if not _transient(error):
                    raise
                # The SDK has already retried this call; the run goes on regardless, so ask
                # again on the next poll rather than give up on a run that may well succeed.
                self.progress.note(
                    f"[{clock_text(self.clock() - started)}] Data Factory did not answer "
                    f"({error_label(error)}): asking again"
                )
                if self.clock() >= deadline:
                    raise
                self.sleep(min(options.poll_seconds, max(deadline - self.clock(), 0)))
                continue
            status = run.status or "Unknown"
            tasks = self._task_counts(job_id)
            if isinstance(tasks, TaskCounts):
                known_counts = tasks
            snapshot = Snapshot(
                elapsed_seconds=self.clock() - started,
                pipeline_status=status,
                activities=activities,
                job_id=job_id,
                tasks=tasks,
            )
            self.progress.update(snapshot)
            result = RunResult(
                run_id=run_id,
                verdict=_VERDICTS.get(status, Verdict.TIMED_OUT),
                pipeline_status=status,
                message=run.message or "",
                duration_seconds=snapshot.elapsed_seconds,
                parameters=parameters,
                job_id=_job_id_reported(snapshot.activities) or job_id,
                activities=snapshot.activities,
                tasks=known_counts,
                notes=list(self._notes),
            )
            if status in PIPELINE_TERMINAL:
                if run.duration_in_ms is not None:
                    result.duration_seconds = run.duration_in_ms / 1000  # ADF's own measure
                return result
            remaining = deadline - self.clock()
            if remaining <= 0:
                return self._timed_out(result, job_id, options)
            self.sleep(min(options.poll_seconds, remaining))

    def _timed_out(self, result: RunResult, job_id: str, options: FollowOptions) -> RunResult:
        """The run outlived --timeout: cancel it and its Batch job, unless told to leave it."""
        result.message = f"still {result.pipeline_status} after {_minutes(options.timeout_seconds)}"
        if options.cancel_on_timeout:
            result.notes.extend(self._stop(result.run_id, job_id))
        else:
            result.notes.append("left running (--keep-running-on-timeout)")
        return result

    def _activities(self, run_id: str, window_start: dt.datetime) -> tuple[ActivityState, ...]:
        now = dt.datetime.now(dt.UTC)
        filters = RunFilterParameters(
            last_updated_after=window_start, last_updated_before=now + dt.timedelta(hours=1)
        )
        runs: list[ActivityRun] = []
        while True:
            page = self.factory.activity_runs.query_by_pipeline_run(
                self.outputs.resource_group_name,
                self.outputs.data_factory_name,
                run_id,
                filters,
            )
            runs.extend(page.value or [])
            if not page.continuation_token:
                break
            filters.continuation_token = page.continuation_token
        return tuple(_activity_state(run) for run in runs)

    def _task_counts(self, job_id: str) -> TaskCounts | TasksUnknown | None:
        """The job's task counts; None before the orchestrator has created the job. Batch's
        refusals and outages only cost the counts: the pipeline is still followed through ADF."""
        if self._batch_refusal is not None:
            return self._batch_refusal
        try:
            result = self.batch.get_job_task_counts(job_id)
        except ResourceNotFoundError:
            return None  # the orchestrator has not created the job yet
        except HttpResponseError as error:
            if error.status_code in (401, 403):
                return self._refused(error)
            return TasksUnknown(f"Batch {error_label(error)}, retrying")
        except (ServiceRequestError, ServiceResponseError):
            return TasksUnknown("Batch unreachable, retrying")
        counts = result.task_counts
        return TaskCounts(
            active=counts.active,
            running=counts.running,
            succeeded=counts.succeeded,
            failed=counts.failed,
        )

    def _refused(self, error: HttpResponseError) -> TasksUnknown:
        label = error_label(error)
        account = self.outputs.batch_account_name
        self.progress.note(
            f"ops run: Batch refused to show the job's task counts ({label}): grant the caller "
            f"{BATCH_ROLE} on the Batch account {account}; following the pipeline without them"
        )
        self._notes.append(
            f"task counts unavailable: Batch answered {label} (grant {BATCH_ROLE} on {account})"
        )
        self._batch_refusal = TasksUnknown(f"Batch {label}")
        return self._batch_refusal

    def _stop(self, run_id: str, job_id: str) -> list[str]:
        notes: list[str] = []
        try:
            self.factory.pipeline_runs.cancel(
                self.outputs.resource_group_name,
                self.outputs.data_factory_name,
                run_id,
                is_recursive=True,
            )
            notes.append(f"cancelled pipeline run {run_id}")
        except HttpResponseError as error:
            notes.append(f"could not cancel pipeline run {run_id}: {_reason(error)}")
        try:
            poller = self.batch.begin_terminate_job(
                job_id,
                BatchJobTerminateOptions(termination_reason="ops run timed out"),
                polling_interval=1,
            )
            poller.result(timeout=60)
            notes.append(f"terminated Batch job {job_id}")
        except ResourceNotFoundError:
            pass  # no job was created: nothing to stop
        except HttpResponseError as error:
            notes.append(f"could not terminate Batch job {job_id}: {_reason(error)}")
        return notes


def _activity_state(run: ActivityRun) -> ActivityState:
    error = run.error if isinstance(run.error, dict) else None
    output = run.output if isinstance(run.output, dict) else None
    return ActivityState(
        name=run.activity_name or "?",
        status=run.status or "Unknown",
        error=_activity_error(error) if error and error.get("message") else None,
        output=output,
    )


def _activity_error(error: dict[str, Any]) -> ActivityError:
    return ActivityError(
        code=str(error.get("errorCode") or ""),
        message=str(error.get("message") or "").strip(),
        failure_type=str(error.get("failureType") or ""),
    )


def _job_id_reported(activities: tuple[ActivityState, ...]) -> str | None:
    for activity in activities:
        custom = (activity.output or {}).get("customOutput")
        if isinstance(custom, dict) and isinstance(custom.get("jobId"), str):
            return custom["jobId"]
    return None


def _transient(error: HttpResponseError | ServiceRequestError | ServiceResponseError) -> bool:
    """What azure-core's RetryPolicy itself treats as worth retrying: no answer, 408, 429, 5xx."""
    if not isinstance(error, HttpResponseError):
        return True
    status = error.status_code or 0
    return status in (408, 429) or status >= 500


def _reason(error: HttpResponseError) -> str:
    return error.message.splitlines()[0] if error.message else str(error.status_code)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min"
