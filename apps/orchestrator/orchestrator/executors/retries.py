"""Which failed Batch tasks run again: the orchestrator's retry policy.

Batch retries every non-zero exit up to a task's maxTaskRetryCount (azure-batch models
BatchTaskConstraints.max_task_retry_count), and exit conditions cannot stop it for some codes
(ExitOptions has only jobAction and dependencyAction). But exit 2 (bad input) and exit 3
(partial) are the bag's verdict: running it again gives the same answer, at the cost of a whole
extraction. So tasks carry maxTaskRetryCount 0, and the orchestrator reactivates the failures
worth another try (azure-batch reactivate_task: same task id, so a merge that waits for a shard
keeps waiting for it). What Batch still does on its own, and safely: a task on a preempted or
rebooted node is requeued and runs again (models BatchNodeState.PREEMPTED), not counted here;
the processor replaces its output folder whole (docs/contracts.md §2), so a rerun over a killed
attempt leaves nothing half-written.

Pure decisions, no requests: the executor asks, then acts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from orchestrator.outcome import EXIT_BAD_INPUT, EXIT_OK, EXIT_PARTIAL, TaskOutcome
from orchestrator.plan import TaskSpec

# Exits whose dependants may run: success, and the verdicts (a merge after a bad shard reports
# the missing part). Everything else holds them until the failure is retried or final. These
# are the exit conditions of every task (executors/batch_tasks.py).
RELEASING_EXITS = (EXIT_OK, EXIT_BAD_INPUT, EXIT_PARTIAL)
DEFAULT_MAX_RETRIES = 2
# The job's metadata item that carries the reactivations so far, so that an ADF retry of the
# activity (a new orchestrator resuming the same job) does not grant every task a fresh
# allowance: Batch itself keeps no count (reactivate_task resets the task's retryCount to 0,
# azure-batch `_operations.py` reactivate_task docstring).
RETRIES_METADATA = "orchestrator-retries"


def is_verdict(outcome: TaskOutcome) -> bool:
    """The processor decided (exit 0, 2 or 3): another run would decide the same."""
    return outcome.exit_code in RELEASING_EXITS


@dataclass
class RetryBook:
    """The failures seen so far in one job, and what was done about each."""

    limits: dict[str, int] = field(default_factory=dict)  # task id -> retries allowed
    dependants: dict[str, list[str]] = field(default_factory=dict)  # task id -> its dependants
    retried: dict[str, int] = field(default_factory=dict)  # task id -> reactivations so far
    final: set[str] = field(default_factory=set)  # failures reported as they are
    ended: set[str] = field(default_factory=set)  # dependants ended because a parent failed

    @classmethod
    def for_tasks(cls, tasks: Iterable[TaskSpec]) -> RetryBook:
        book = cls()
        for task in tasks:
            book.limits[task.id] = task.max_retries
            for parent in task.depends_on:
                book.dependants.setdefault(parent, []).append(task.id)
        return book

    def should_retry(self, outcome: TaskOutcome) -> bool:
        """A failure that was not the processor's verdict, with retries left."""
        if outcome.task_id in self.ended or is_verdict(outcome):
            return False
        used = self.retried.get(outcome.task_id, 0)
        return used < self.limits.get(outcome.task_id, DEFAULT_MAX_RETRIES)

    def record_retry(self, task_id: str) -> None:
        self.retried[task_id] = self.retried.get(task_id, 0) + 1

    def recorded(self) -> str:
        """The reactivations so far, as the job's metadata value (RETRIES_METADATA)."""
        return json.dumps(self.retried, sort_keys=True, separators=(",", ":"))

    def resume(self, metadata: Mapping[str, str]) -> None:
        """Take over the reactivations an earlier attempt recorded in the job's metadata."""
        try:
            earlier = json.loads(metadata.get(RETRIES_METADATA) or "{}")
        except json.JSONDecodeError:
            return  # unreadable: the allowance starts again, as before this was recorded
        if isinstance(earlier, dict):
            for task_id, count in earlier.items():
                if isinstance(task_id, str) and isinstance(count, int):
                    self.retried[task_id] = max(self.retried.get(task_id, 0), count)

    def record_final(self, outcome: TaskOutcome) -> list[str]:
        """Settle a failure; returns the dependants it holds for ever, which must be ended."""
        self.final.add(outcome.task_id)
        if is_verdict(outcome):
            return []  # its exit conditions already released them
        held = [task for task in self.dependants.get(outcome.task_id, []) if task not in self.ended]
        self.ended.update(held)
        return held
