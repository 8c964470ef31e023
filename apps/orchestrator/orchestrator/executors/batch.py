"""The batch executor: one Batch job per run, container tasks on the execution pool.

Request budget, whatever the number of tasks: one job lookup, one job create,
one task add per 100 tasks (built and sent 1,000 at a time), then one task-count
request per poll; a listing of the failed tasks when the failed count grows, and a
reactivation per retried task; at the end one paged task listing (1,000 per page),
a stderr download for each of the first few failed tasks, and the job's termination.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from azure.batch import BatchClient, models

# Not re-exported by azure.batch.models in 15.1, though begin_terminate_job takes it.
from azure.batch.models._models import BatchJobTerminateOptions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from orchestrator.executors import Execution, ExecutorError, Progress, ProgressSink
from orchestrator.executors.batch_tasks import ContainerTaskSettings, container_task
from orchestrator.executors.local import STDERR_TAIL_BYTES
from orchestrator.executors.retries import RETRIES_METADATA, RetryBook
from orchestrator.outcome import TaskOutcome
from orchestrator.plan import Plan, TaskSpec
from orchestrator.stopping import Stopped

log = logging.getLogger(__name__)

_TASK_FIELDS = ["id", "state", "executionInfo"]
# learn.microsoft.com/rest/api/batchservice/odata-filters-in-batch#list-tasks
_FAILED_TASKS = "executionInfo/result eq 'failure'"
_MAX_STDERR_DOWNLOADS = 20
# learn.microsoft.com/azure/batch/large-number-tasks: parallel add-task-collection requests raise
# submission throughput; it advises fewer than 100 at once. 4 keeps 2 cores busy (bench-fleet).
_ADD_TASK_THREADS = 4
# Task models are built this many at a time: one SDK model weighs about 8 KB, so 10,000 at once
# cost 79 MB of RSS (scripts/bench_fleet.py, docs/scale.md). A multiple of the 100 tasks per
# request (learn.microsoft.com/rest/api/batchservice/task/add-collection), 10 requests per slice.
ADD_TASK_SLICE = 1000
# How long the job outlives its orchestrator: see Lease.
DEFAULT_LEASE = datetime.timedelta(minutes=15)


@dataclass(frozen=True)
class PollSchedule:
    """Seconds between task-count polls: quick at first, backing off to `maximum`."""

    initial: float = 5.0
    maximum: float = 60.0
    factor: float = 1.5

    def intervals(self) -> Iterable[float]:
        interval = self.initial
        while True:
            yield interval
            interval = min(self.maximum, interval * self.factor)


@dataclass
class Lease:
    """A dead man's switch for the job: its maxWallClockTime, kept `length` ahead of now.

    Batch ends a job whose maxWallClockTime passes, with its running tasks (azure-batch models
    BatchJobConstraints.max_wall_clock_time), and a job update can move the limit. The
    orchestrator moves it while it lives; when it is killed (a cancelled pipeline run, a lost
    node) nobody does, and the job ends within `length` instead of running on for hours.
    """

    length: float  # seconds
    started: float  # when the job was created, on this process's monotonic clock
    limit: float = 0.0  # the maxWallClockTime last set, in seconds from `started`

    def due(self, now: float) -> bool:
        return self.limit - (now - self.started) < self.length / 2

    def renewed(self, now: float) -> datetime.timedelta:
        self.limit = (now - self.started) + self.length
        return datetime.timedelta(seconds=self.limit)


class JobEnded(Exception):
    """The job ended while the orchestrator still waited for it (its lease ran out, or someone
    terminated it)."""


class BatchExecutor:
    def __init__(
        self,
        client: BatchClient,
        pool_id: str,
        task_settings: ContainerTaskSettings,
        *,
        timeout_seconds: float,
        poll: PollSchedule | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        lease: datetime.timedelta = DEFAULT_LEASE,
    ) -> None:
        self._client = client
        self._pool_id = pool_id
        self._tasks = task_settings
        self._timeout = timeout_seconds
        self._poll = poll or PollSchedule()
        self._sleep = sleep
        self._clock = clock
        self._lease_length = lease.total_seconds()

    def run(self, plan: Plan, on_progress: ProgressSink) -> Execution:
        try:
            return self._run(plan, on_progress)
        except Stopped:
            # Asked to stop (a cancelled run): the job must not run on without us.
            self._terminate(plan.job_id, "OrchestratorStopped")
            raise
        except models.CreateTasksError as error:
            raise ExecutorError(describe_create_tasks_error(plan.job_id, error)) from error
        except HttpResponseError as error:
            raise ExecutorError(f"Batch refused a request: {describe(error)}") from error

    def _run(self, plan: Plan, on_progress: ProgressSink) -> Execution:
        job = self._find_job(plan.job_id)
        if job is not None and job.state in ("completed", "terminating", "deleting"):
            log.info("job %s already finished (%s): reporting it", plan.job_id, job.state)
            return Execution(plan.job_id, self._outcomes(plan.job_id), previously_completed=True)
        if job is None and not plan.tasks:
            return Execution(plan.job_id)  # every bag is already extracted: no job needed
        if job is None:
            lease = Lease(self._lease_length, started=self._clock())
            self._create_job(plan, lease)
            existing: set[str] = set()
        else:
            log.info("job %s exists (%s): resuming it", plan.job_id, job.state)
            lease = self._resumed_lease(job)
            existing = self._task_ids(plan.job_id)
        missing = [task for task in plan.tasks if task.id not in existing]
        self._add_tasks(plan.job_id, missing)
        expected = len(existing | {task.id for task in plan.tasks})
        book = RetryBook.for_tasks(plan.tasks)
        if job is not None:  # an ADF retry: the earlier attempts' reactivations still count
            book.resume({item.name: item.value for item in job.metadata or []})
        try:
            finished = self._wait(plan.job_id, expected, book, lease, on_progress)
        except JobEnded as ended:
            log.error("%s", ended)
            return Execution(plan.job_id, self._outcomes(plan.job_id, book), ended=str(ended))
        # The job is ended here, not by onAllTasksComplete: a failure seen after the last task
        # completes may still be retried, and Batch refuses to reactivate tasks of an ended job.
        self._terminate(plan.job_id, "AllTasksComplete" if finished else "OrchestratorTimeout")
        outcomes = self._outcomes(plan.job_id, book)
        return Execution(plan.job_id, outcomes, timed_out=not finished)

    def _resumed_lease(self, job: models.BatchJob) -> Lease:
        """The lease of a job an earlier attempt created: due at once (its limit is unknown)."""
        created = job.creation_time
        age = (datetime.datetime.now(datetime.UTC) - created).total_seconds() if created else 0.0
        return Lease(self._lease_length, started=self._clock() - max(age, 0.0))

    def _find_job(self, job_id: str) -> models.BatchJob | None:
        try:
            return self._client.get_job(job_id, select=["id", "state", "creationTime", "metadata"])
        except ResourceNotFoundError:
            return None

    def _create_job(self, plan: Plan, lease: Lease) -> None:
        job = models.BatchJobCreateOptions(
            id=plan.job_id,
            display_name=f"extract {plan.input_path} -> {plan.output_path}"[:1024],
            pool_info=models.BatchPoolInfo(pool_id=self._pool_id),
            uses_task_dependencies=True,  # merges wait for their shards
            # The orchestrator ends the job itself once its retries are done (see _run).
            all_tasks_complete_mode="noaction",
            task_failure_mode="noaction",  # one bad bag never stops the others
            # If the orchestrator dies, the job ends when its lease does (see Lease).
            constraints=models.BatchJobConstraints(
                max_wall_clock_time=lease.renewed(self._clock())
            ),
        )
        try:
            self._client.create_job(job)
        except ResourceExistsError as error:
            # 409 JobExists: created by an earlier attempt whose response was lost (the retry
            # policy repeats the POST), so it is this run's job: carry on. Any other 409 (a job
            # of that id being deleted, for one) is not ours to use.
            if error_code(error) != "JobExists":
                raise
            log.info("job %s was created by an earlier attempt", plan.job_id)

    def _task_ids(self, job_id: str) -> set[str]:
        return {
            task.id for task in self._client.list_tasks(job_id, select=["id"], max_results=1000)
        }

    def _add_tasks(self, job_id: str, tasks: Sequence[TaskSpec]) -> None:
        if not tasks:
            return
        log.info("adding %d tasks to job %s", len(tasks), job_id)
        # The SDK sends 100 tasks per request (the service's limit) and treats
        # TaskExists as added, so a retried request never duplicates a task.
        for start in range(0, len(tasks), ADD_TASK_SLICE):
            self._client.create_tasks(
                job_id,
                [
                    container_task(task, self._tasks, job_id)
                    for task in tasks[start : start + ADD_TASK_SLICE]
                ],
                max_concurrency=_ADD_TASK_THREADS,
            )

    def _wait(
        self,
        job_id: str,
        expected: int,
        book: RetryBook,
        lease: Lease,
        on_progress: ProgressSink,
    ) -> bool:
        deadline = self._clock() + self._timeout
        for interval in self._poll.intervals():
            if lease.due(self._clock()):
                self._renew(job_id, lease)
            counts = self._client.get_job_task_counts(job_id).task_counts
            progress = Progress(
                total=expected,
                active=counts.active,
                running=counts.running,
                succeeded=counts.succeeded,
                failed=counts.failed,
            )
            on_progress(progress)
            # Task counts may lag the tasks by a few seconds: the listing decides, and a
            # failure is only final once it has been looked at.
            if counts.failed > len(book.final) and self._handle_failures(job_id, book):
                continue  # tasks were reactivated or ended: count again before waiting
            settled = counts.failed <= len(book.final)
            idle = counts.active == 0 and counts.running == 0
            if idle and settled and progress.completed >= expected:
                return True
            remaining = deadline - self._clock()
            if remaining <= 0:
                return False
            self._sleep(min(interval, remaining))
        raise AssertionError("unreachable: the poll schedule is endless")

    def _renew(self, job_id: str, lease: Lease) -> None:
        limit = lease.renewed(self._clock())
        update = models.BatchJobUpdateOptions(
            constraints=models.BatchJobConstraints(max_wall_clock_time=limit)
        )
        try:
            self._client.update_job(job_id, update)
        except HttpResponseError as error:
            if error_code(error) != "JobCompleted":
                raise
            job = self._client.get_job(job_id, select=["id", "executionInfo"])
            reason = job.execution_info.termination_reason if job.execution_info else None
            raise JobEnded(
                f"job {job_id} ended before its tasks did (terminateReason: {reason or '?'}); "
                "MaxWallClockTimeExpiry means no orchestrator renewed its lease in time"
            ) from None

    def _handle_failures(self, job_id: str, book: RetryBook) -> bool:
        """Retry or settle every failed task not looked at yet; True when something changed."""
        changed = False
        failed = self._client.list_tasks(
            job_id, filter=_FAILED_TASKS, select=_TASK_FIELDS, max_results=1000
        )
        for task in failed:
            if task.id in book.final or task.state != "completed":
                continue
            outcome = _outcome(task)
            if book.should_retry(outcome) and self._reactivate(job_id, task.id):
                book.record_retry(task.id)
                self._record_retries(job_id, book)
                log.warning(
                    "task %s failed (exit code %s, %s): running it again (retry %d)",
                    task.id,
                    outcome.exit_code,
                    outcome.reason or "no reason given",
                    book.retried[task.id],
                )
                changed = True
                continue
            for held in book.record_final(outcome):
                # It waits for a task that will never succeed: end it, so the run can end.
                self._end_task(job_id, held, because=task.id)
                changed = True
        return changed

    def _record_retries(self, job_id: str, book: RetryBook) -> None:
        """In the job's metadata, for the next attempt (a PATCH leaves the rest unchanged)."""
        item = models.BatchMetadataItem(name=RETRIES_METADATA, value=book.recorded())
        try:
            self._client.update_job(job_id, models.BatchJobUpdateOptions(metadata=[item]))
        except HttpResponseError as error:
            log.warning("cannot record the retries of job %s: %s", job_id, describe(error))

    def _reactivate(self, job_id: str, task_id: str) -> bool:
        try:
            self._client.reactivate_task(job_id, task_id)
        except HttpResponseError as error:
            log.warning("cannot run task %s again: %s", task_id, describe(error))
            return False
        return True

    def _end_task(self, job_id: str, task_id: str, because: str) -> None:
        log.warning("ending task %s: it depends on %s, which failed", task_id, because)
        try:
            self._client.terminate_task(job_id, task_id)
        except HttpResponseError as error:
            if error_code(error) != "TaskCompleted":
                log.warning("ending task %s: %s", task_id, describe(error))

    def _terminate(self, job_id: str, reason: str) -> None:
        if reason == "OrchestratorTimeout":
            log.error("timed out after %.0f s: terminating job %s", self._timeout, job_id)
        try:
            poller = self._client.begin_terminate_job(
                job_id, BatchJobTerminateOptions(termination_reason=reason), polling_interval=1
            )
            poller.result(timeout=120)
        except HttpResponseError as error:
            if error_code(error) == "JobCompleted":
                # Its last task finished between the last poll and this request.
                log.info("job %s completed before it could be terminated", job_id)
            else:
                log.warning("terminating job %s: %s", job_id, describe(error))

    def _outcomes(self, job_id: str, book: RetryBook | None = None) -> dict[str, TaskOutcome]:
        outcomes: dict[str, TaskOutcome] = {}
        downloads = 0
        for task in self._client.list_tasks(job_id, select=_TASK_FIELDS, max_results=1000):
            outcome = _outcome(task, book.retried.get(task.id, 0) if book else 0)
            if outcome.exit_code not in (0, None) and downloads < _MAX_STDERR_DOWNLOADS:
                downloads += 1
                outcome = _with_stderr(outcome, self._stderr_tail(job_id, task.id))
            outcomes[task.id] = outcome
        return outcomes

    def _stderr_tail(self, job_id: str, task_id: str) -> str:
        try:
            chunks = self._client.download_task_file(job_id, task_id, "stderr.txt")
            data = b""
            for chunk in chunks:
                data = (data + chunk)[-STDERR_TAIL_BYTES:]
            return data.decode("utf-8", errors="replace")
        except HttpResponseError as error:
            # The node may be gone; the log was uploaded to the task-logs container.
            log.info("stderr of %s not on its node (%s)", task_id, error.status_code)
            return ""


def _with_stderr(outcome: TaskOutcome, stderr: str) -> TaskOutcome:
    return dataclasses.replace(outcome, stderr_tail=stderr)


def _outcome(task: models.BatchTask, reactivations: int = 0) -> TaskOutcome:
    info = task.execution_info
    if task.state != "completed" or info is None:
        # `active`: still queued when the job ended, it never ran (contracts: `not started`).
        return TaskOutcome(
            task.id,
            None,
            reason=f"not finished (task state: {task.state})",
            never_started=task.state == "active",
        )
    seconds = (
        (info.end_time - info.start_time).total_seconds()
        if info.start_time and info.end_time
        else None
    )
    reason = ""
    if info.failure_info is not None:
        failure = info.failure_info
        reason = f"{failure.code or failure.category}: {failure.message or ''}".strip(": ")
    return TaskOutcome(
        task.id,
        info.exit_code,
        reason=reason,
        seconds=seconds,
        retries=(info.retry_count or 0) + reactivations,
        started=info.start_time,
        ended=info.end_time,
    )


def error_code(error: HttpResponseError) -> str:
    """The Batch error code of a refused request (`JobExists`, `JobCompleted`, ...), or ''."""
    detail = getattr(error, "error", None)
    return str(getattr(detail, "code", None) or "")


def describe(error: HttpResponseError) -> str:
    """`<status> <code>: <first line of the message>`, for one-line reports."""
    message = (error.message or "").strip().splitlines()
    return " ".join(
        part
        for part in (str(error.status_code or ""), error_code(error), message[0] if message else "")
        if part
    )


def describe_create_tasks_error(job_id: str, error: models.CreateTasksError) -> str:
    refused = [
        f"{result.task_id}: {result.error.code if result.error else '?'}"
        + (f" ({result.error.message.value})" if result.error and result.error.message else "")
        for result in error.failure_tasks
    ]
    failures = [
        describe(inner) if isinstance(inner, HttpResponseError) else str(inner)
        for inner in error.errors
    ]
    shown = "; ".join([*refused[:5], *failures[:3]])
    more = len(refused) - 5
    return f"Batch refused tasks of job {job_id}: {shown}" + (
        f" (and {more} more)" if more > 0 else ""
    )
