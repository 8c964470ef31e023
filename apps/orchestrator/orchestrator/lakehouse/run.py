"""A run into the lake: read the bags' outputs, one Delta commit per table, catalog, reports."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pyarrow as pa

from orchestrator.lakehouse import delta, reports
from orchestrator.lakehouse.catalog import (
    BAGS,
    SOURCE_ID,
    TOPICS,
    BagEntry,
    bags_table,
    topics_table,
)
from orchestrator.lakehouse.delta import Target
from orchestrator.lakehouse.names import TF_TABLE, VIDEO_TABLE, sync_table_name, table_name
from orchestrator.lakehouse.outputs import TopicTable, bag_id_for, content_id, read_output
from orchestrator.lakehouse.rows import (
    BAG_ID,
    LOG_TIME_NS,
    PARTITIONS,
    lake_batches,
    lake_schema,
    read_columns,
)
from orchestrator.lakehouse.stats import GPS_COLUMNS, NAVSATFIX, gps_track, log_times, topic_stats
from orchestrator.outcome import BagResult, BagStatus

TABLES_DIR, CATALOG_DIR = "tables", "catalog"
LAKE_FAILED = "lake-failed"
QUARANTINED = str(BagStatus.QUARANTINED)
# Bags this run did not touch: their lake rows stay as the run that made them committed them.
# Held bags too (docs/orchestrator.md "Exactly once"): a quarantined or waiting bag has nothing
# new, and a busy one's rows are the other run's to replace.
_LEFT_AS_THEY_WERE = (
    BagStatus.UNCHANGED,
    BagStatus.NOT_RUN,
    BagStatus.QUARANTINED,
    BagStatus.WAITING,
    BagStatus.BUSY,
)
log = logging.getLogger(__name__)


@dataclass
class LakeResult:
    """What the run committed, for the summary and outputs.json."""

    lake: str
    tables: dict[str, int] = field(default_factory=dict)  # table -> its version after the run
    bags: int = 0  # bags whose rows were committed
    conflicts: dict[str, str] = field(default_factory=dict)  # bag id -> why nothing was
    report: str = ""

    def as_json(self) -> dict[str, object]:
        return {
            "lake": self.lake,
            "tables": self.tables,
            "bags": self.bags,
            "conflicts": self.conflicts,
            "report": self.report,
        }


def _failure_reason(result: BagResult) -> str:
    task = result.failed_task
    if task is None:
        return f"the bag was {result.status}: no output to commit"
    tail = task.stderr_tail.strip().splitlines()
    return task.reason or (tail[-1] if tail else f"exit code {task.exit_code}")


@dataclass(frozen=True)
class Ledgered:
    """What the ledger says of the run's bags (orchestrator/ledger.py), for their catalog rows."""

    source_ids: Mapping[PurePosixPath, str] = field(default_factory=dict)  # as planned
    quarantined: Mapping[PurePosixPath, str] = field(default_factory=dict)  # bag -> why


def _entry(result: BagResult, data_root: Path, ledgered: Ledgered) -> BagEntry:
    output = read_output(result.bag, data_root / result.output)
    source = data_root / result.bag
    sid = ledgered.source_ids.get(result.bag, "")
    if result.bag in ledgered.quarantined:  # the run's exit 2: the ledger holds it back
        output.tables, output.derived = [], []
        why = ledgered.quarantined[result.bag]
        return BagEntry(output, QUARANTINED, why, content_id(source), source_id=sid)
    if not result.ok:
        output.tables, output.derived = [], []
        reason = _failure_reason(result)
        return BagEntry(output, str(result.status), reason, content_id(source), source_id=sid)
    entry = BagEntry(output, str(result.status), content_id=content_id(source), source_id=sid)
    for table in output.tables:  # only the columns the figures need
        times = log_times(read_columns(table, [LOG_TIME_NS]))
        name = table_name(table.msgtype)
        entry.topics.append(topic_stats(table.topic, table.msgtype, name, times))
        if table.msgtype == NAVSATFIX and entry.gps is None:
            entry.gps = gps_track(read_columns(table, list(GPS_COLUMNS)))
    return entry


def fleet_table(table: TopicTable) -> str:
    """The fleet table a bag's table file lands in: its type's, or a derived table's."""
    return table.fleet or table_name(table.msgtype)


def _files(entry: BagEntry) -> list[TopicTable]:
    return [*entry.output.tables, *entry.output.derived]


def _schemas(entry: BagEntry) -> dict[str, list[pa.Schema]]:
    found: dict[str, list[pa.Schema]] = defaultdict(list)
    for table in _files(entry):
        found[fleet_table(table)].append(lake_schema(entry.output.bag_id, table))
    return found


def _accept(target: Target, entries: list[BagEntry]) -> tuple[dict[str, pa.Schema], dict[str, str]]:
    """Each table's merged schema over the bags without a type conflict, and the conflicts."""
    per_bag = {e.output.bag_id: _schemas(e) for e in entries if _files(e)}
    existing: dict[str, pa.Schema | None] = {}
    conflicts: dict[str, str] = {}
    while True:  # a bag rejected by one table leaves every table: merge again without it
        merged: dict[str, pa.Schema] = {}
        rejected = False
        for bag_id, tables in sorted(per_bag.items()):
            if bag_id in conflicts:
                continue
            for name, schemas in sorted(tables.items()):
                if name not in existing:
                    existing[name] = delta.existing_schema(target, f"{TABLES_DIR}/{name}")
                try:
                    for schema in schemas:
                        merged[name] = delta.merge_schemas(merged.get(name, existing[name]), schema)
                except ValueError as error:
                    conflicts[bag_id] = f"table {name}: {error}"
                    rejected = True
                    break
            if rejected:
                break
        if not rejected:
            return merged, conflicts


def _previous_tables(target: Target, bag_ids: set[str]) -> set[str]:
    """The tables the catalog says these bags had rows in (before this run)."""
    if delta.existing_schema(target, f"{CATALOG_DIR}/{TOPICS}") is None or not bag_ids:
        return set()
    rows = delta.read_rows(target, f"{CATALOG_DIR}/{TOPICS}", ["bag_id", "table"])
    return {r["table"] for r in rows if r["bag_id"] in bag_ids}


def _previous_derived(target: Target, bag_ids: set[str], written: set[str]) -> set[str]:
    """The derived tables (tf, video, sync) these bags have rows in and this run does not
    write. The catalog's topics rows do not name them, so the candidates are the two fixed
    tables and the sync tables the bags' catalog rows' options name; each is asked."""
    if not bag_ids:
        return set()
    candidates = {TF_TABLE, VIDEO_TABLE}
    catalog = delta.existing_schema(target, f"{CATALOG_DIR}/{BAGS}")
    columns = [BAG_ID, "sync_reference", "sync_with"]
    if catalog is not None and all(c in catalog.names for c in columns):
        candidates |= {
            sync_table_name(r["sync_reference"], list(r["sync_with"] or []))
            for r in delta.read_rows(target, f"{CATALOG_DIR}/{BAGS}", columns)
            if r[BAG_ID] in bag_ids and r["sync_reference"]
        }
    return {
        name
        for name in candidates - written
        if delta.existing_schema(target, f"{TABLES_DIR}/{name}") is not None
        and delta.has_rows(target, f"{TABLES_DIR}/{name}", bag_ids)
    }


def _sources(entries: list[BagEntry], name: str) -> list[delta.RowSource]:
    def reader(bag_id: str, table: TopicTable) -> delta.RowSource:
        return lambda: lake_batches(bag_id, table)

    files = [(e.output.bag_id, t) for e in entries for t in _files(e)]
    return [reader(bag_id, t) for bag_id, t in files if fleet_table(t) == name]


def commit_run(
    results: Sequence[BagResult],
    data_root: Path,
    target: Target,
    run_id: str,
    ledgered: Ledgered | None = None,
) -> LakeResult:
    """One commit per table for the whole run, then the catalog's, then the reports.

    Only the bags this run extracted or failed are committed: a bag left as it was (fresh, or
    not started before the run ended) keeps its rows and catalog row untouched, unless the
    catalog has never had it (its output predates the lake: it is committed once) or has it
    from other content than the ledger's (a commit that failed after the bag changed)."""
    ledgered = ledgered or Ledgered()
    chosen = _to_commit(results, target, ledgered.source_ids)
    entries = [_entry(r, data_root, ledgered) for r in chosen]
    if not entries:  # nothing new: no commit at all, the lake and its reports stay as they are
        index = Path(target.reports) / "index.html" if target.reports else None
        return LakeResult(target.root, report=str(index) if index and index.is_file() else "")
    schemas, conflicts = _accept(target, entries)
    for entry in entries:
        if entry.output.bag_id in conflicts:
            entry.status, entry.reason = LAKE_FAILED, conflicts[entry.output.bag_id]
            entry.output.tables, entry.output.derived = [], []
            entry.topics, entry.gps = [], None
    replaced = {e.output.bag_id for e in entries if e.output.bag_id not in conflicts}
    result = LakeResult(target.root, conflicts=conflicts)
    previous = _previous_tables(target, replaced)
    previous |= _previous_derived(target, replaced, set(schemas))
    for name in sorted(schemas):
        uri = f"{TABLES_DIR}/{name}"
        delta.replace_bags(
            target, uri, schemas[name], _sources(entries, name), replaced, PARTITIONS, run_id
        )
    for name in sorted(previous - set(schemas)):
        delta.delete_bags(target, f"{TABLES_DIR}/{name}", replaced, run_id)
    for name in sorted(set(schemas) | previous):
        result.tables[name] = delta.table_version(target, f"{TABLES_DIR}/{name}")
    ids = {e.output.bag_id for e in entries}
    _commit_catalog(target, entries, ids, run_id)
    result.bags = sum(1 for e in entries if e.output.tables)
    if target.reports:  # a cloud lake's come through the data lake's mount (location.py)
        catalog = delta.read_rows(target, f"{CATALOG_DIR}/{BAGS}")
        result.report = reports.write_reports(Path(target.reports), entries, catalog)
    return result


def _to_commit(
    results: Sequence[BagResult], target: Target, source_ids: Mapping[PurePosixPath, str]
) -> list[BagResult]:
    ran = [r for r in results if r.status not in _LEFT_AS_THEY_WERE]
    fresh = [r for r in results if r.status is BagStatus.UNCHANGED]
    if not fresh:
        return ran
    catalog = f"{CATALOG_DIR}/{BAGS}"
    schema = delta.existing_schema(target, catalog)
    if schema is None:
        return ran + fresh
    columns = [BAG_ID, SOURCE_ID] if SOURCE_ID in schema.names else [BAG_ID]
    known = {row[BAG_ID]: row.get(SOURCE_ID) for row in delta.read_rows(target, catalog, columns)}

    def stale(result: BagResult) -> bool:
        bag_id = bag_id_for(result.bag)
        if bag_id not in known:
            return True
        # A row from before source ids (null) is left as it is: backfilling it would commit
        # every bag of an older lake again.
        recorded, current = known[bag_id], source_ids.get(result.bag, "")
        return bool(recorded and current and recorded != current)

    return ran + [r for r in fresh if stale(r)]


def _commit_catalog(target: Target, entries: list[BagEntry], ids: set[str], run_id: str) -> None:
    for name, data in ((BAGS, bags_table(entries, run_id)), (TOPICS, topics_table(entries))):
        uri = f"{CATALOG_DIR}/{name}"
        schema = delta.merge_schemas(delta.existing_schema(target, uri), data.schema)
        delta.replace_bags(target, uri, schema, [lambda d=data: d.to_batches()], ids, None, run_id)
