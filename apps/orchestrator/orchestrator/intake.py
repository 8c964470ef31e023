"""Which bags this run takes: exactly once per content, quarantine, claims.

Before planning, each bag found is judged against its ledger record (orchestrator/ledger.py)
and the run's options (freshness.py):

- complete, made with these options and from the bag's current source id: left as it is
  (`unchanged`), however often the same event or sweep asks again;
- quarantined (processor exit 2) from the current source id: held as `quarantined` until the
  bag changes (`--force` retries it);
- otherwise it is to be extracted, if this run wins the bag's claim (orchestrator/claims.py):
  a bag another run holds is `busy` and left to it. Having won, the record is read again: the
  other run may have finished between the first look and the claim.

After the run, `settle` writes each bag's record and releases the claims.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath

from orchestrator import freshness, ledger
from orchestrator.claims import Claims
from orchestrator.discovery import Bag
from orchestrator.manifest import MANIFEST, is_complete
from orchestrator.outcome import EXIT_BAD_INPUT, BagResult, BagStatus
from orchestrator.plan import Plan, PlanOptions
from orchestrator.source import Incomplete, ros2_files, source_id

Printer = Callable[[str], None]
STALE_LINES_SHOWN = 10  # bags to extract again, named one a line; the rest counted
# An unreadable bag (exit 2) whose newest file changed less than this long ago may still be
# arriving: on HNS a CopyBlob raises BlobCreated when the copy starts, and NFS writes and renames
# raise no event at all (docs/azure-behaviour.md "Storage events"). It is held as waiting, not
# quarantined nor moved, so a later event or sweep takes it. Compared with this node's clock.
SETTLE_SECONDS = 600.0


@dataclass
class Intake:
    """What planning needs: complete result folders, held bags, and each bag's source id."""

    completed: set[PurePosixPath] = field(default_factory=set)
    held: dict[PurePosixPath, tuple[BagStatus, str]] = field(default_factory=dict)
    source_ids: dict[PurePosixPath, str] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)


def bag_source_id(data_root: Path, bag: Bag) -> str:
    """The bag's source id now; '' when it cannot be read (it went away: the processor will
    say so)."""
    path = data_root / bag.path
    try:
        return source_id(path, ros2_files(path) if path.is_dir() else None)
    except (OSError, Incomplete):
        return ""


def _newest_mtime(path: Path) -> int:
    if path.is_dir():
        times = [child.stat().st_mtime_ns for child in path.rglob("*") if child.is_file()]
        return max(times, default=0)
    return path.stat().st_mtime_ns


def _adoptable(source: Path, result_dir: Path) -> bool:
    """An output from before the ledger: it vouches for the bag when it was written after the
    bag last changed (one clock: both times come from the same file server)."""
    try:
        return (result_dir / MANIFEST).stat().st_mtime_ns >= _newest_mtime(source)
    except OSError:
        return False


def _verdict(
    data_root: Path,
    output: PurePosixPath,
    bag: Bag,
    sid: str,
    wanted: dict[str, object],
    job_id: str,
) -> tuple[str, str]:
    """('done' | 'quarantined' | 'todo', why) for one bag, from what is on disk now."""
    result_dir = output / bag.output_key
    record = ledger.read(data_root / output, bag.output_key)
    if record is not None and record.status == ledger.QUARANTINED and record.source_id == sid:
        return "quarantined", record.reason or "unreadable when last tried"
    if not is_complete(data_root / result_dir):
        return "todo", ""
    why = freshness.mismatch(data_root / result_dir, wanted)
    if why:
        return "todo", why
    if record is None:
        if sid and _adoptable(data_root / bag.path, data_root / result_dir):
            ledger.write(
                data_root / output,
                bag.output_key,
                ledger.Record(str(bag.path), sid, ledger.EXTRACTED, job_id=job_id),
            )
            return "done", ""
        return "todo", "the bag changed after its output was made"
    if record.source_id != sid:
        return "todo", "the bag changed since it was extracted"
    return "done", ""


def _claimed(
    intake: Intake,
    claims: Claims,
    bag: Bag,
    look: Callable[[], tuple[str, str]],
    force: bool,
    result_dir: PurePosixPath,
) -> bool:
    """Whether this run now holds the bag to extract it; else the bag is held or done."""
    busy = claims.take(str(bag.path))
    if busy:
        intake.held[bag.path] = (BagStatus.BUSY, busy)
        return False
    if force:
        return True
    # Won the claim: another run may have finished this bag since the first look.
    again, why = look()
    if again == "todo":
        return True
    claims.release(str(bag.path))
    if again == "done":
        intake.completed.add(result_dir)
    else:
        intake.held[bag.path] = (BagStatus.QUARANTINED, why)
    return False


def take_bags(
    data_root: Path,
    output: PurePosixPath,
    bags: Sequence[Bag],
    options: PlanOptions,
    claims: Claims,
    job_id: str,
) -> Intake:
    wanted = freshness.wanted_options(
        options.output_format, options.topics, options.column_names, options.processor
    )
    intake = Intake()
    for bag in bags:
        if bag.waiting:
            continue  # build_plan holds it as waiting
        result_dir = output / bag.output_key
        sid = bag_source_id(data_root, bag)
        intake.source_ids[bag.path] = sid
        verdict, why = _verdict(data_root, output, bag, sid, wanted, job_id)
        if not options.force:
            if verdict == "done":
                intake.completed.add(result_dir)
                continue
            if verdict == "quarantined":
                intake.held[bag.path] = (BagStatus.QUARANTINED, why)
                continue
        if (
            _claimed(
                intake,
                claims,
                bag,
                partial(_verdict, data_root, output, bag, sid, wanted, job_id),
                options.force,
                result_dir,
            )
            and why
        ):
            intake.stale.append(f"extracting {bag.path} again: {why}")
    return intake


def show(intake: Intake, bags: Sequence[Bag], options: PlanOptions, printer: Printer) -> None:
    """The lines that say why bags are extracted again, and how many are left as they are."""
    for line in intake.stale[:STALE_LINES_SHOWN]:
        printer(line)
    if len(intake.stale) > STALE_LINES_SHOWN:
        printer(f"... and {len(intake.stale) - STALE_LINES_SHOWN} more bags made otherwise")
    done = len(intake.completed)
    if done and not options.force:
        wanted = freshness.wanted_options(
            options.output_format, options.topics, options.column_names, options.processor
        )
        every = "all " if done == len(bags) else ""
        noun = "bag" if done == 1 else "bags"
        printer(
            f"{every}{done} {noun} already extracted with these options "
            f"({freshness.describe(wanted)}): left as they are; --force extracts them again"
        )


def _reason(result: BagResult) -> str:
    task = result.failed_task
    if task is None:
        return "unreadable"
    lines = [line for line in task.stderr_tail.strip().splitlines() if line.strip()]
    return (lines[-1] if lines else task.reason or f"exit code {task.exit_code}")[:500]


def quarantine_target(bag: PurePosixPath, quarantine: PurePosixPath) -> PurePosixPath:
    """Where a quarantined bag goes: below the quarantine folder, at its path below the
    quarantine folder's parent (raw/2026/a.bag -> raw/quarantine/2026/a.bag)."""
    base = quarantine.parent
    if base != PurePosixPath(".") and base in bag.parents:
        return quarantine / bag.relative_to(base)
    return quarantine / bag


def settle(
    plan: Plan,
    results: Sequence[BagResult],
    data_root: Path,
    quarantine: PurePosixPath | None,
    printer: Printer,
) -> dict[PurePosixPath, ledger.Record]:
    """Record what this run made of each bag it ran: extracted, or quarantined (exit 2).
    Returns the records written, by bag (the lake's catalog repeats them)."""
    written: dict[PurePosixPath, ledger.Record] = {}
    planned = {bag.bag.path: bag for bag in plan.bags}
    for result in results:
        bag = planned.get(result.bag)
        if bag is None or bag.already_done or bag.held is not None or not bag.source_id:
            continue
        output_dir, key = data_root / plan.output_path, bag.bag.output_key
        if result.status in (BagStatus.SUCCEEDED, BagStatus.PARTIAL):
            extracted = ledger.Record(
                str(result.bag), bag.source_id, ledger.EXTRACTED, job_id=plan.job_id
            )
            ledger.write(output_dir, key, extracted)
            written[result.bag] = extracted
        elif (
            result.status is BagStatus.FAILED
            and result.failed_task is not None
            and result.failed_task.exit_code == EXIT_BAD_INPUT
        ):
            age = _age_seconds(data_root / result.bag)
            if age is not None and age < SETTLE_SECONDS:
                printer(
                    f"waiting {result.bag}: unreadable, but written {age:.0f} s ago, so it may "
                    "still be arriving: not quarantined; a later event or sweep takes it"
                )
                continue
            moved = _move(result.bag, data_root, quarantine, printer) if quarantine else ""
            quarantined = ledger.Record(
                str(result.bag),
                bag.source_id,
                ledger.QUARANTINED,
                reason=_reason(result),
                job_id=plan.job_id,
                moved_to=moved,
            )
            ledger.write(output_dir, key, quarantined)
            written[result.bag] = quarantined
            where = f", moved to {moved}" if moved else ""
            printer(
                f"quarantined {result.bag}{where}: not retried until it changes "
                "(--force retries it now)"
            )
    return written


def _age_seconds(path: Path) -> float | None:
    """Seconds since the bag's newest file changed; None when it cannot be read (gone)."""
    try:
        return max(0.0, time.time() - _newest_mtime(path) / 1e9)
    except OSError:
        return None


def _move(bag: PurePosixPath, data_root: Path, quarantine: PurePosixPath, printer: Printer) -> str:
    target = quarantine_target(bag, quarantine)
    destination = data_root / target
    if destination.exists():
        printer(f"not moving {bag} to {target}: something is already there")
        return ""
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(data_root / bag, destination)
    except OSError as error:
        printer(f"not moving {bag} to {target}: {error.strerror or error}")
        return ""
    return str(target)
