"""The local executor: the plan's processor command lines as local processes.

A local folder stands in for the data lake mount. Tasks run in parallel up to
the number of cores, each after the tasks it depends on (shards before merge).
"""

from __future__ import annotations

import datetime
import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.executors import Execution, Progress, ProgressSink
from orchestrator.outcome import TaskOutcome
from orchestrator.plan import Plan, TaskSpec

PROCESSOR_COMMAND = (sys.executable, "-m", "processor")
STDERR_TAIL_BYTES = 4096
_POLL_SECONDS = 0.05
HEARTBEAT_SECONDS = 30.0

log = logging.getLogger(__name__)


def tail(path: Path, limit: int = STDERR_TAIL_BYTES) -> str:
    """The last `limit` bytes of a text file, empty when there is none."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - limit))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def start_process(
    argv: Sequence[str],
    stdout: Path,
    stderr: Path,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start one task's process with its output going to the given files."""
    stdout.parent.mkdir(parents=True, exist_ok=True)
    with stdout.open("wb") as out, stderr.open("wb") as err:
        return subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )


def _remove_if_empty(folder: Path) -> None:
    """Remove `folder` and its parent when nothing was kept in them."""
    for candidate in (folder, folder.parent):
        try:
            candidate.rmdir()
        except OSError:
            return


@dataclass
class _Running:
    task: TaskSpec
    process: subprocess.Popen[bytes]
    started: float
    stderr: Path
    started_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )


class LocalExecutor:
    def __init__(
        self,
        data_root: Path,
        logs_dir: Path,
        *,
        workers: int | None = None,
        timeout_seconds: float | None = None,
        processor_command: Sequence[str] = PROCESSOR_COMMAND,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._data_root = data_root
        self._logs_dir = logs_dir
        self._workers = max(1, workers or os.cpu_count() or 1)
        self._timeout = timeout_seconds
        self._command = tuple(processor_command)
        self._env = dict(env or {})

    def run(self, plan: Plan, on_progress: ProgressSink) -> Execution:
        waiting = list(plan.tasks)
        running: dict[str, _Running] = {}
        outcomes: dict[str, TaskOutcome] = {}
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        last: Progress | None = None
        last_shown = time.monotonic()
        try:
            while waiting or running:
                self._collect_finished(running, outcomes)
                self._start_ready(waiting, running, outcomes)
                if waiting and not running:
                    raise ValueError(
                        f"tasks {[task.id for task in waiting]} wait for tasks not in the plan"
                    )
                progress = self._progress(plan, waiting, running, outcomes)
                # Show each finished task (and the start), and a heartbeat on long tasks.
                if (
                    last is None
                    or progress.completed != last.completed
                    or time.monotonic() - last_shown > HEARTBEAT_SECONDS
                ):
                    on_progress(progress)
                    last, last_shown = progress, time.monotonic()
                if deadline is not None and time.monotonic() > deadline:
                    self._abandon(waiting, running, outcomes)
                    return Execution(plan.job_id, outcomes, timed_out=True)
                if running:
                    time.sleep(_POLL_SECONDS)
        except BaseException:
            self._abandon(waiting, running, outcomes)
            raise
        _remove_if_empty(self._logs_dir)
        return Execution(plan.job_id, outcomes)

    def _start_ready(
        self,
        waiting: list[TaskSpec],
        running: dict[str, _Running],
        outcomes: Mapping[str, TaskOutcome],
    ) -> None:
        # A dependency that failed still releases its dependants, as on Batch
        # (dependencyAction "satisfy"): the merge then reports the missing part.
        for task in list(waiting):
            if len(running) >= self._workers:
                return
            if all(dep in outcomes for dep in task.depends_on):
                waiting.remove(task)
                argv = [*self._command, *task.processor_args(str(self._data_root))]
                stdout = self._logs_dir / f"{task.id}.stdout.txt"
                stderr = self._logs_dir / f"{task.id}.stderr.txt"
                log.debug("starting %s: %s", task.id, " ".join(argv))
                process = start_process(argv, stdout, stderr, self._env)
                running[task.id] = _Running(task, process, time.monotonic(), stderr)

    @staticmethod
    def _collect_finished(running: dict[str, _Running], outcomes: dict[str, TaskOutcome]) -> None:
        for task_id, entry in list(running.items()):
            code = entry.process.poll()
            if code is None:
                continue
            del running[task_id]
            if code == 0:  # keep logs only where there is something to look into
                entry.stderr.unlink(missing_ok=True)
                entry.stderr.with_name(f"{task_id}.stdout.txt").unlink(missing_ok=True)
            outcomes[task_id] = TaskOutcome(
                task_id=task_id,
                exit_code=code,
                stderr_tail="" if code == 0 else tail(entry.stderr),
                seconds=time.monotonic() - entry.started,
                started=entry.started_at,
                ended=datetime.datetime.now(datetime.UTC),
            )

    @staticmethod
    def _abandon(
        waiting: list[TaskSpec], running: dict[str, _Running], outcomes: dict[str, TaskOutcome]
    ) -> None:
        for task_id, entry in running.items():
            entry.process.kill()
            entry.process.wait(timeout=10)
            outcomes[task_id] = TaskOutcome(
                task_id, None, reason="stopped: the run timed out", stderr_tail=tail(entry.stderr)
            )
        for task in waiting:
            outcomes[task.id] = TaskOutcome(
                task.id, None, reason="not started: the run timed out", never_started=True
            )
        running.clear()
        waiting.clear()

    @staticmethod
    def _progress(
        plan: Plan,
        waiting: Sequence[TaskSpec],
        running: Mapping[str, _Running],
        outcomes: Mapping[str, TaskOutcome],
    ) -> Progress:
        succeeded = sum(1 for outcome in outcomes.values() if outcome.succeeded)
        return Progress(
            total=len(plan.tasks),
            active=len(waiting),
            running=len(running),
            succeeded=succeeded,
            failed=len(outcomes) - succeeded,
        )
