"""The fake Batch service's state: jobs, tasks, and a runner that executes the tasks.

Tasks run as local processes through the orchestrator's own local-executor
helper, with Batch's semantics: dependencies (and their exit-condition
dependency actions), retries up to maxTaskRetryCount, job termination.
"""

from __future__ import annotations

import datetime
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import isodate

from orchestrator.executors.local import start_process
from tests.orchestrator.fake_batch.validation import task_error_for_job

CommandMapper = Callable[[list[str]], list[str]]


class Conflict(Exception):
    """The service would answer 409 with this code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


ENTRYPOINT_SCRIPT = Path(__file__).resolve().parents[3] / "apps" / "processor" / "entrypoint.sh"
IMAGE_ENTRYPOINT = "/usr/local/bin/processor-entrypoint"  # where the image's Dockerfile puts it


def python_here(argv: list[str]) -> list[str]:
    """Run the image's entry point (the real script) and `python` with the interpreter running
    the tests; the node environment's PROCESSOR_PYTHON points the entry point at it too."""
    if argv[:1] == [IMAGE_ENTRYPOINT]:
        return ["sh", str(ENTRYPOINT_SCRIPT), *argv[1:]]
    if argv and argv[0] in ("python", "python3"):
        return [sys.executable, *argv[1:]]
    return argv


@dataclass
class FakeTask:
    body: dict[str, Any]
    job_id: str
    created: str = field(default_factory=now_iso)
    state: str = "active"
    exit_code: int | None = None
    retry_count: int = 0
    start_time: str | None = None
    end_time: str | None = None
    failure: dict[str, Any] | None = None
    process: subprocess.Popen[bytes] | None = None
    directory: Path | None = None
    attempts: int = 0  # process starts: first run, retries, reactivations and requeues
    requeue_count: int = 0
    preemptions: int = 0  # the fake's own count: Batch reports none (see preempt)

    @property
    def id(self) -> str:
        return str(self.body["id"])

    @property
    def depends_on(self) -> list[str]:
        return list((self.body.get("dependsOn") or {}).get("taskIds", []))

    def exit_options(self) -> dict[str, Any]:
        """The exit options that apply (azure-batch models ExitConditions): an exit code's own
        mapping or range first, then the pre-processing or upload error's, then the default."""
        conditions = self.body.get("exitConditions") or {}
        for mapping in conditions.get("exitCodes", []):
            if mapping["code"] == self.exit_code:
                return mapping["exitOptions"]
        for mapping in conditions.get("exitCodeRanges", []):
            if self.exit_code is not None and mapping["start"] <= self.exit_code <= mapping["end"]:
                return mapping["exitOptions"]
        category = (self.failure or {}).get("category")
        if self.exit_code is None and category == "preprocessing":
            return conditions.get("preProcessingError") or {}
        return conditions.get("default") or {}

    def releases_dependants(self) -> bool:
        """Batch: success satisfies; failure blocks unless exit options say "satisfy"
        (azure-batch models ExitOptions.dependency_action; .NET docs: "The default is Satisfy
        for exit code 0, and Block for all other exit conditions")."""
        if self.state != "completed":
            return False
        if self.exit_code == 0:
            return True
        return self.exit_options().get("dependencyAction", "block") == "satisfy"

    def to_json(self, base_url: str) -> dict[str, Any]:
        info: dict[str, Any] = {
            "retryCount": self.retry_count,
            "requeueCount": self.requeue_count,
        }
        if self.start_time:
            info["startTime"] = self.start_time
        if self.state == "completed":
            info.update(
                endTime=self.end_time, result="success" if self.exit_code == 0 else "failure"
            )
            if self.exit_code is not None:
                info["exitCode"] = self.exit_code
            if self.failure:
                info["failureInfo"] = self.failure
        return {
            **self.body,
            "url": f"{base_url}/jobs/{self.job_id}/tasks/{self.id}",
            "eTag": "0x" + uuid.uuid4().hex[:16].upper(),
            "creationTime": self.created,
            "lastModified": self.created,
            "state": self.state,
            "stateTransitionTime": self.end_time or self.start_time or self.created,
            "executionInfo": info,
        }


@dataclass
class FakeJob:
    body: dict[str, Any]
    created: str = field(default_factory=now_iso)
    state: str = "active"
    end_time: str | None = None
    terminate_reason: str | None = None
    tasks: dict[str, FakeTask] = field(default_factory=dict)  # keyed by lower-case id

    started: float = field(default_factory=time.monotonic)

    @property
    def id(self) -> str:
        return str(self.body["id"])

    def wall_clock_expired(self) -> bool:
        """Measured from the job's creation (BatchJobConstraints.max_wall_clock_time); an
        update of the constraint moves the limit, not the start."""
        limit = (self.body.get("constraints") or {}).get("maxWallClockTime")
        if not limit:
            return False
        return time.monotonic() - self.started > isodate.parse_duration(limit).total_seconds()

    def to_json(self, base_url: str) -> dict[str, Any]:
        execution: dict[str, Any] = {
            "startTime": self.created,
            "poolId": self.body["poolInfo"].get("poolId"),
        }
        if self.end_time:
            execution.update(endTime=self.end_time, terminateReason=self.terminate_reason)
        return {
            **self.body,
            "url": f"{base_url}/jobs/{self.id}",
            "eTag": "0x" + uuid.uuid4().hex[:16].upper(),
            "creationTime": self.created,
            "lastModified": self.created,
            "state": self.state,
            "stateTransitionTime": self.end_time or self.created,
            "onAllTasksComplete": self.body.get("onAllTasksComplete", "noaction"),
            "onTaskFailure": self.body.get("onTaskFailure", "noaction"),
            "priority": self.body.get("priority", 0),
            "executionInfo": execution,
        }

    def counts(self) -> dict[str, int]:
        tasks = list(self.tasks.values())
        completed = [task for task in tasks if task.state == "completed"]
        succeeded = sum(1 for task in completed if task.exit_code == 0)
        return {
            "active": sum(1 for task in tasks if task.state == "active"),
            "running": sum(1 for task in tasks if task.state in ("preparing", "running")),
            "completed": len(completed),
            "succeeded": succeeded,
            "failed": len(completed) - succeeded,
        }


class FakeBatchState:
    """Jobs and tasks, guarded by one lock; a thread runs ready tasks on `slots` workers."""

    def __init__(
        self,
        work_dir: Path,
        *,
        slots: int = 2,
        run_tasks: bool = True,
        command_mapper: CommandMapper = python_here,
        node_environment: Mapping[str, str] | None = None,
        foreign_paths: Sequence[Path] = (),
    ) -> None:
        self.lock = threading.RLock()
        # What Batch sets on the execution node, AZ_BATCH_NODE_MOUNTS_DIR among it; "all Task
        # environment variables are mapped into the container" (azure-batch models
        # BatchTaskCreateOptions.container_settings).
        self.node_environment = {"PROCESSOR_PYTHON": sys.executable, **(node_environment or {})}
        # Paths that exist on another machine (the orchestrator's node), not on the execution
        # node: a task whose command line names one fails as the processor would there.
        self.foreign_paths = tuple(foreign_paths)
        self.jobs: dict[str, FakeJob] = {}  # keyed by lower-case id: ids are case-insensitive
        self.work_dir = work_dir
        self.slots = slots
        self.run_tasks = run_tasks
        self.command_mapper = command_mapper
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fake-batch-runner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        with self.lock:
            for job in self.jobs.values():
                for task in job.tasks.values():
                    if task.process is not None and task.process.poll() is None:
                        task.process.kill()
                        task.process.wait(timeout=10)

    def job(self, job_id: str) -> FakeJob | None:
        return self.jobs.get(job_id.lower())

    def all_tasks(self) -> list[FakeTask]:
        with self.lock:
            return [task for job in self.jobs.values() for task in job.tasks.values()]

    def terminate(self, job: FakeJob, reason: str) -> None:
        with self.lock:
            for task in job.tasks.values():
                if task.state in ("running", "preparing") and task.process is not None:
                    self._end(task, "The task was ended because its job was terminated")
            job.state, job.end_time, job.terminate_reason = "completed", now_iso(), reason

    @staticmethod
    def _end(task: FakeTask, message: str) -> None:
        """Kill the task's process (if any) and complete it as ended by a request."""
        if task.process is not None:
            task.process.kill()
            task.process.wait(timeout=10)
            task.process = None
            task.exit_code = 137
        task.state, task.end_time = "completed", now_iso()
        task.failure = {"category": "usererror", "code": "TaskEnded", "message": message}

    def terminate_task(self, job: FakeJob, task: FakeTask) -> None:
        """azure-batch terminate_task: "When the Task has been terminated, it moves to the
        completed state"; a completed task answers 409 TaskCompleted."""
        with self.lock:
            if task.state == "completed":
                raise Conflict("TaskCompleted", "The specified task is already completed.")
            self._end(task, "The task was terminated by a request")

    def reactivate(self, job: FakeJob, task: FakeTask) -> None:
        """azure-batch reactivate_task: fails for a task that is not completed or that completed
        with exit code 0, and when the job has completed (or is terminating or deleting). The
        refusal codes below are the fake's own; the orchestrator does not depend on them."""
        with self.lock:
            if job.state != "active":
                raise Conflict("JobCompleted", "The specified job is already completed.")
            if task.state != "completed":
                raise Conflict("TaskNotCompleted", "The specified task is not completed.")
            if task.exit_code == 0:
                raise Conflict("TaskCompletedSuccessfully", "The task completed successfully.")
            task.state, task.exit_code, task.failure = "active", None, None
            task.end_time, task.retry_count = None, 0

    def preempt(self, job_id: str, task_id: str) -> None:
        """A Spot node evicted under its running task, as Batch documents it: "Tasks which were
        running on the Compute Node when it was preempted will be rescheduled when another
        Compute Node becomes available" (azure-batch models `_enums.py` BatchNodeState.PREEMPTED;
        learn.microsoft.com/azure/batch/batch-spot-vms: the interrupted task "will be
        automatically requeued for execution by a different compute node"). So: the process dies
        with no warning (SIGKILL, no cleanup), the task goes back to `active` and runs again
        from the start as a new attempt; `retryCount` is not touched (it counts failures,
        BatchTaskExecutionInfo.retry_count), and neither is `requeueCount`, which counts the
        requeues a user asked for (BatchTaskExecutionInfo.requeue_count: "as the result of a user
        request": pool shrink, job disable), so the orchestrator may rely on neither."""
        with self.lock:
            job = self.job(job_id)
            task = job.tasks[task_id.lower()] if job else None
            if task is None or task.process is None:
                raise ValueError(f"task {task_id} is not running")
            task.process.kill()
            task.process.wait(timeout=10)
            task.process, task.state, task.start_time = None, "active", None
            task.preemptions += 1

    def requeue(self, job_id: str, task_id: str) -> None:
        """What a Spot node's preemption does to a running task (azure-batch models
        BatchNodeState.PREEMPTED): its process dies and it is rescheduled, counted as a requeue,
        not as a retry."""
        with self.lock:
            job = self.job(job_id)
            task = job.tasks[task_id.lower()] if job else None
            if task is None or task.process is None:
                raise ValueError(f"task {task_id} is not running")
            task.process.kill()
            task.process.wait(timeout=10)
            task.process, task.state = None, "active"
            task.requeue_count += 1

    # -- the runner ---------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                if self.run_tasks:
                    for job in list(self.jobs.values()):
                        self._advance(job)
            time.sleep(0.02)

    def _advance(self, job: FakeJob) -> None:
        if job.state != "active":
            return
        if job.wall_clock_expired():
            # azure-batch models BatchJobConstraints.max_wall_clock_time: "the Batch service
            # terminates it and any Tasks that are still running", reason MaxWallClockTimeExpiry.
            self.terminate(job, "MaxWallClockTimeExpiry")
            return
        for task in job.tasks.values():
            if task.state == "running" and task.process is not None:
                code = task.process.poll()
                if code is not None:
                    self._finish(job, task, code)
        running = sum(1 for task in job.tasks.values() if task.state == "running")
        for task in job.tasks.values():
            if running >= self.slots:
                break
            if task.state == "active" and self._ready(job, task):
                self._start(job, task)
                running += 1
        if (
            job.body.get("onAllTasksComplete") == "terminatejob"
            and job.tasks
            and all(task.state == "completed" for task in job.tasks.values())
        ):
            job.state, job.end_time, job.terminate_reason = (
                "completed",
                now_iso(),
                "AllTasksComplete",
            )

    @staticmethod
    def _ready(job: FakeJob, task: FakeTask) -> bool:
        for dependency in task.depends_on:
            parent = job.tasks.get(dependency.lower())
            if parent is None or not parent.releases_dependants():
                return False
        return True

    def _start(self, job: FakeJob, task: FakeTask) -> None:
        task.directory = self.work_dir / job.id / task.id
        words = shlex.split(task.body["commandLine"])
        argv = self.command_mapper(words)
        env = {
            **self.node_environment,
            **{
                item["name"]: item.get("value") or ""
                for item in task.body.get("environmentSettings", [])
            },
        }
        foreign = [
            word for word in words if any(word.startswith(str(p)) for p in self.foreign_paths)
        ]
        if foreign:
            # The command line was written for another node: nothing is there on this one.
            message = f"error: {foreign[0]} does not exist on this node"
            argv = [
                sys.executable,
                "-c",
                f"import sys; print({message!r}, file=sys.stderr); sys.exit(2)",
            ]
        task.process = start_process(
            argv, task.directory / "stdout.txt", task.directory / "stderr.txt", env
        )
        task.state = "running"
        task.start_time = now_iso()
        task.attempts += 1

    def _finish(self, job: FakeJob, task: FakeTask, code: int) -> None:
        task.process = None
        limit = (task.body.get("constraints") or {}).get("maxTaskRetryCount", 0)
        if code != 0 and (limit == -1 or task.retry_count < limit):
            task.retry_count += 1  # Batch retries every non-zero exit
            self._start(job, task)
            return
        task.exit_code = code
        task.state, task.end_time = "completed", now_iso()
        if code != 0:
            task.failure = {
                "category": "usererror",
                "code": "FailureExitCode",
                "message": "The task exited with an exit code representing a failure",
            }

    def read_task_file(self, job_id: str, task_id: str, name: str) -> bytes | None:
        with self.lock:
            job = self.job(job_id)
            task = job.tasks.get(task_id.lower()) if job else None
            if task is None or task.directory is None:
                return None
            path = task.directory / name
        return path.read_bytes() if path.is_file() else None

    def add_tasks(self, job: FakeJob, bodies: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        with self.lock:
            for body in bodies:
                key = str(body["id"]).lower()
                refused = task_error_for_job(body, job.body)
                if refused is not None:
                    results.append(_client_error(body["id"], refused.code, str(refused)))
                    continue
                if key in job.tasks:
                    exists = _client_error(body["id"], "TaskExists", "The task already exists")
                    results.append(exists)
                    continue
                job.tasks[key] = FakeTask(body=body, job_id=job.id)
                results.append({"status": "success", "taskId": body["id"], "eTag": "0x1"})
        return results


def _client_error(task_id: str, code: str, message: str) -> dict[str, Any]:
    """One task's result in an add-task-collection answer (azure-batch BatchTaskCreateResult)."""
    return {
        "status": "clienterror",
        "taskId": task_id,
        "error": {"code": code, "message": {"lang": "en-US", "value": message}},
    }
