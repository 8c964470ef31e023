"""Turning a plan and its execution into per-bag results, a summary table and failure notes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from orchestrator.executors import Execution
from orchestrator.manifest import read_all_counts
from orchestrator.outcome import (
    EXIT_PARTIAL,
    BagResult,
    BagStatus,
    OutputCounts,
    TaskOutcome,
)
from orchestrator.plan import BagPlan, Plan

# Result folders (relative to the data root) -> their counts.
CountsReader = Callable[[Sequence[PurePosixPath]], Mapping[PurePosixPath, OutputCounts]]
STDERR_LINES_SHOWN = 5
SKIPPED_SHOWN = 10  # skipped topics named per bag; the manifest lists them all
TOPICS_SHOWN = 30  # a bag's or the run's topics named in a note about --topics
# How long the report may spend reading manifests, whatever the number of bags: the report must
# reach ADF well before the activity's timeout (docs/data-factory.md).
COUNTS_BUDGET_SECONDS = 120.0


def counts_under(data_root: Path, budget_seconds: float = COUNTS_BUDGET_SECONDS) -> CountsReader:
    """Read result folders' counts below `data_root` (a local folder or the NFS mount)."""

    def read(result_dirs: Sequence[PurePosixPath]) -> Mapping[PurePosixPath, OutputCounts]:
        found = read_all_counts(
            [data_root / folder for folder in result_dirs], budget_seconds=budget_seconds
        )
        return {folder: found[data_root / folder] for folder in result_dirs}

    return read


def bag_results(plan: Plan, execution: Execution, read: CountsReader) -> list[BagResult]:
    judged: list[tuple[BagPlan, BagStatus, TaskOutcome | None, float | None]] = []
    for bag in plan.bags:
        outcomes = [execution.outcomes[i] for i in bag.task_ids if i in execution.outcomes]
        final = execution.outcomes.get(bag.final_task_id)
        status, culprit = _status(bag, outcomes, final)
        seconds = sum(outcome.seconds or 0.0 for outcome in outcomes) if outcomes else None
        judged.append((bag, status, culprit, seconds))
    # Only bags with output have a manifest to read; one call reads them all, in parallel.
    counts = read([bag.result_dir for bag, status, _, _ in judged if _has_output(status)])
    return [
        BagResult(
            bag.bag.path,
            status,
            bag.result_dir,
            counts.get(bag.result_dir, OutputCounts()),
            seconds,
            culprit,
            note=bag.held[1] if bag.held and status is bag.held[0] else "",
        )
        for bag, status, culprit, seconds in judged
    ]


def _has_output(status: BagStatus) -> bool:
    return status in (BagStatus.SUCCEEDED, BagStatus.PARTIAL, BagStatus.UNCHANGED)


def _status(
    bag: BagPlan, outcomes: list[TaskOutcome], final: TaskOutcome | None
) -> tuple[BagStatus, TaskOutcome | None]:
    if final is None:
        if bag.held is not None:
            return bag.held[0], None
        if bag.already_done:
            return BagStatus.UNCHANGED, None
        return BagStatus.NOT_RUN, None
    # The first failing task explains the bag best: a failed shard, not the merge it starved.
    first_failure = next((outcome for outcome in outcomes if not outcome.succeeded), None)
    if all(outcome.never_started for outcome in outcomes):
        return BagStatus.NOT_RUN, None
    if not final.succeeded:
        return BagStatus.FAILED, first_failure or final
    if any(outcome.exit_code == EXIT_PARTIAL for outcome in outcomes):
        return BagStatus.PARTIAL, None
    return BagStatus.SUCCEEDED, None


def summary_table(results: Iterable[BagResult], seconds: float) -> str:
    """One row per bag and a total: bag, status, topics, messages, files, seconds."""
    results = list(results)
    rows = [
        (
            str(result.bag),
            str(result.status),
            *_count_cells(result.counts),
            f"{result.seconds:.1f}" if result.seconds is not None else "-",
        )
        for result in results
    ]
    total = (
        f"{len(rows)} bag" if len(rows) == 1 else f"{len(rows)} bags",
        "",
        str(sum(result.counts.topics for result in results)),
        str(sum(result.counts.messages for result in results)),
        str(sum(result.counts.files for result in results)),
        f"{seconds:.1f}",
    )
    header = ("bag", "status", "topics", "messages", "files", "seconds")
    widths = [max(len(row[i]) for row in (header, *rows, total)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        left = [cells[i].ljust(widths[i]) for i in range(2)]
        right = [cells[i].rjust(widths[i]) for i in range(2, len(cells))]
        return "  ".join(left + right).rstrip()

    rule = "  ".join("-" * width for width in widths)
    table = [line(header), rule, *(line(row) for row in rows), rule, line(total)]
    return "\n".join(table + held_notes(results) + skipped_notes(results) + topic_notes(results))


_HELD_WHY = {
    BagStatus.QUARANTINED: "not retried until the bag changes (--force retries it now)",
    BagStatus.WAITING: "extracted once every listed file is there",
    BagStatus.BUSY: "left to that run",
}


def held_notes(results: Iterable[BagResult]) -> list[str]:
    """Under the table, each bag held back without a task: why, and what happens next."""
    return [
        f"{result.status} {result.bag}: {result.note}; {_HELD_WHY[result.status]}"
        for result in results
        if result.status in _HELD_WHY and result.note
    ]


def skipped_notes(results: Iterable[BagResult]) -> list[str]:
    """Under the table, each bag whose output lacks topics: which, and why (the manifest's)."""
    notes: list[str] = []
    for result in results:
        skipped = result.counts.skipped
        if not skipped:
            continue
        notes.append(f"{result.status} {result.bag}: {skipped_summary(skipped)}")
        notes.extend(f"  skipped {topic}: {why}" for topic, why in skipped[:SKIPPED_SHOWN])
        if len(skipped) > SKIPPED_SHOWN:
            notes.append(f"  ... and {len(skipped) - SKIPPED_SHOWN} more in its manifest.json")
    return notes


def topic_notes(results: Iterable[BagResult]) -> list[str]:
    """With --topics: each bag that has none of them (not a failure: its output is empty),
    and each topic that no bag of the run has, which is likely a typo."""
    results = list(results)
    informed = [r for r in results if r.counts.known and r.counts.absent_topics is not None]
    notes = [
        f"{r.bag}: none of the listed topics is in the bag (it has "
        f"{_names(r.counts.bag_topics)}): nothing extracted"
        for r in informed
        if r.counts.absent_topics and not r.counts.topics and not r.counts.skipped
    ]
    if not informed:
        return notes
    absent_everywhere = set.intersection(*(set(r.counts.absent_topics or ()) for r in informed))
    available = sorted({topic for r in informed for topic in r.counts.bag_topics})
    notes.extend(
        f"--topics {topic} is in no bag of this run (a typo?); the bags have: {_names(available)}"
        for topic in sorted(absent_everywhere)
    )
    return notes


def _names(topics: Sequence[str]) -> str:
    shown = ", ".join(topics[:TOPICS_SHOWN]) or "no topics"
    return shown + (f", ... ({len(topics)} in all)" if len(topics) > TOPICS_SHOWN else "")


def skipped_summary(skipped: Sequence[tuple[str, str]]) -> str:
    """`1 topic skipped (/a)`, `3 topics skipped (/a, /b, /c)`."""
    topics = ", ".join(topic for topic, _ in skipped[:SKIPPED_SHOWN])
    more = ", ..." if len(skipped) > SKIPPED_SHOWN else ""
    noun = "topic" if len(skipped) == 1 else "topics"
    return f"{len(skipped)} {noun} skipped ({topics}{more})"


def _count_cells(counts: OutputCounts) -> tuple[str, str, str]:
    if not counts.known:
        return ("?", "?", "?")  # the manifest could not be read (in time)
    return (str(counts.topics), str(counts.messages), str(counts.files))


def failure_notes(results: Iterable[BagResult]) -> list[str]:
    """For each failed bag: the task, its exit code and the last lines of its stderr."""
    notes: list[str] = []
    for result in results:
        if result.status not in (BagStatus.FAILED, BagStatus.NOT_RUN):
            continue
        task = result.failed_task
        if result.status is BagStatus.NOT_RUN or task is None:
            notes.append(f"NOT STARTED {result.bag}: the run stopped before any task of it began")
            continue
        code = "none" if task.exit_code is None else str(task.exit_code)
        lines = [f"FAILED {result.bag}: task {task.task_id} exit code {code}"]
        if task.reason:
            lines.append(f"  reason: {task.reason}")
        tail = [line for line in task.stderr_tail.strip().splitlines() if line.strip()]
        lines.extend(f"  stderr: {line}" for line in tail[-STDERR_LINES_SHOWN:])
        notes.append("\n".join(lines))
    return notes
