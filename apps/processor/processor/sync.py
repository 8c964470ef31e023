"""Synchronized tables: `--sync REF --with TOPIC ...` (docs/processor.md, "Synchronized tables").

One wide table with one row per message of the reference topic, in its table's order. Each
`--with` topic is joined to every row: its message nearest to the row's time, or the last one
at or before it (`--sync-method`), on log time or header stamp (`--sync-clock`), if that
message is within the tolerance (inclusive); otherwise the topic's columns are null for that
row. The row is never dropped.

Built from the per-topic tables once they are written (after the merge of shards, too), not
while decoding: it then holds exactly what those tables hold, in either format, and needs
nothing from the bag but the tables' layouts. Memory stays bounded: each joined topic's
table is copied once into an uncompressed Arrow IPC file that is memory-mapped (rows are
taken from it by index; the pages are the file's, which the kernel can drop), its join
keys (8 bytes a message, and 8 more for the order of unsorted header stamps) are held in
numpy, and the reference table is read and written a batch at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from processor.bag import Bag, Stream
from processor.csvtext import CsvWriter
from processor.errors import BagError
from processor.extract import absent_topics, planned_tables
from processor.flatten import TIME_COLUMN, TIME_COLUMNS, TIMESTAMP_COLUMN, Layout
from processor.options import Options, SyncOptions, slashed
from processor.output import within
from processor.progress import Progress
from processor.tables import SUFFIX, rows_per_batch, table_schema

FOLDER = "sync"
OFFSET_COLUMN = "sync_offset_ns"
"""Per joined topic: its matched message's time minus the row's, on the sync clock."""
STAMP_PATHS = ("header.stamp.sec", "header.stamp.nanosec")
_NO_MATCH = -1
_FAR = np.iinfo(np.int64).max


@dataclass
class _Topic:
    """One topic of the synchronized table, as the extraction names and types its table."""

    topic: str
    stem: str
    schema: pa.Schema
    keys: tuple[str, ...]
    """The columns the sync clock reads: the log time, or a header stamp's sec and nanosec."""
    prefix: str
    columns: list[str] = field(default_factory=list)
    """This topic's names in the synchronized table, one per column taken from its table."""


@dataclass
class Plan:
    """What the synchronized table of a bag will be, checked before anything is extracted."""

    options: SyncOptions
    reference: _Topic | None
    """None: the bag lacks the reference topic (`--missing-topics skip`)."""
    others: list[_Topic]
    absent: list[str]


def prefix(stem: str, separator: str) -> str:
    """A topic's column prefix from its file stem, which is already safe (processor.names):
    dotted `/imu/data` (a stem's `.` stands for a `/`, and a literal `.` is `%2E`, so the first
    `.` of a column name always ends the topic); underscored `imu_data` (no quoting in Spark)."""
    if separator == ".":
        return ("" if stem.startswith("~") else "/") + stem.replace(".", "/")
    return stem.replace(".", separator)


def plan(bag: Bag, streams: Sequence[Stream], options: Options, *, strict: bool) -> Plan | None:
    """The plan of `options.sync` for the bag (None without --sync); BagError for what can
    never be synchronized: a topic missing from the bag (with `strict`), a topic whose
    messages cannot be decoded or that has several tables, no header stamp for
    `--sync-clock header`."""
    sync = options.sync
    if sync is None:
        return None
    absent = absent_topics(bag, sync.topics)
    if absent and strict:
        available = ", ".join(sorted({s.topic for s in bag.streams})) or "none"
        raise BagError(
            f"{bag.path}: --sync/--with topic(s) {', '.join(absent)} not in the bag "
            f"(available: {available})"
        )
    wanted = set(sync.topics) - set(absent)
    fmt = options.format
    tables: dict[str, list[tuple[str, pa.Schema, Layout | None, str]]] = {}
    chosen = [s for s in streams if slashed(s.topic) in wanted]
    for result, stream, layout in planned_tables(chosen, options):
        store = stream.typestore
        schema = None if layout is None or store is None else table_schema(fmt, layout, store)
        tables.setdefault(slashed(result.topic), []).append(
            (result.stem, schema, layout, result.skip_reason or "")
        )
    topics = {t: _topic(bag, t, tables[t], options) for t in sync.topics if t in wanted}
    return Plan(
        sync,
        topics.get(sync.reference),
        [topics[t] for t in sync.others if t in topics],
        absent,
    )


def _topic(
    bag: Bag, topic: str, tables: list[tuple[str, Any, Layout | None, str]], options: Options
) -> _Topic:
    if len(tables) > 1:
        names = ", ".join(stem for stem, *_ in tables)
        raise BagError(
            f"{bag.path}: cannot synchronize {topic}: it has {len(tables)} tables ({names}: "
            "connections of different types or definitions); leave it out of --sync/--with"
        )
    stem, schema, layout, reason = tables[0]
    if layout is None or schema is None:
        raise BagError(
            f"{bag.path}: cannot synchronize {topic}: its messages cannot be decoded ({reason}); "
            "leave it out of --sync/--with"
        )
    keys: tuple[str, ...] = (TIME_COLUMN,)
    if options.sync is not None and options.sync.clock == "header":
        by_path = {c.path: c.name for c in layout.fields}
        if not all(path in by_path for path in STAMP_PATHS):
            raise BagError(
                f"{bag.path}: {topic} ({layout.msgtype}) has no header stamp "
                "(header.stamp.sec and header.stamp.nanosec); use --sync-clock log"
            )
        keys = tuple(by_path[path] for path in STAMP_PATHS)
    return _Topic(topic, stem, schema, keys, prefix(stem, options.separator))


def table_name(plan: Plan, fmt: str) -> str | None:
    """`sync/<reference stem>.<format>`; a folder no topic's files can be (they end in
    `.csv`, `.parquet` or `.files`)."""
    if plan.reference is None:
        return None
    return f"{FOLDER}/{plan.reference.stem}{SUFFIX[fmt]}"


def _names(plan: Plan, separator: str) -> list[str]:
    """Every column of the table; a name met twice (possible only in the underscore style,
    `/a/b` + `c` beside `/a` + `b_c`) gets `~2`, `~3`...: the first free one, in order."""
    assert plan.reference is not None
    taken: set[str] = set()

    def claim(base: str) -> str:
        name, number = base, 2
        while name in taken:
            name, number = f"{base}~{number}", number + 1
        taken.add(name)
        return name

    names = [claim(TIME_COLUMN), claim(TIMESTAMP_COLUMN)]
    ref = plan.reference
    ref.columns = [claim(ref.prefix + separator + n) for n in ref.schema.names[len(TIME_COLUMNS) :]]
    names += ref.columns
    for other in plan.others:
        own = [*TIME_COLUMNS, OFFSET_COLUMN, *other.schema.names[len(TIME_COLUMNS) :]]
        other.columns = [claim(other.prefix + separator + n) for n in own]
        names += other.columns
    return names


def _read_batches(path: Path, schema: pa.Schema, fmt: str, rows: int) -> Iterator[pa.RecordBatch]:
    """A topic's table, a batch at a time, with its own types (CSV is read back with them:
    its numbers are exact text, so every value comes back bit for bit); a table the
    extraction removed (no message of the topic decoded) reads as empty."""
    if not path.exists():
        return
    if fmt == "parquet":
        import pyarrow.parquet as pq

        yield from pq.ParquetFile(path).iter_batches(batch_size=rows)
        return
    import pyarrow.csv as pcsv

    # Every CSV column is a number, a boolean, a timestamp or a string (lists are JSON text).
    reader = pcsv.open_csv(
        path,
        read_options=pcsv.ReadOptions(block_size=8 << 20),
        convert_options=pcsv.ConvertOptions(
            column_types={f.name: f.type for f in schema},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    for block in reader:
        for start in range(0, block.num_rows, rows):
            yield block.slice(start, rows)


def _key(batch: pa.RecordBatch | pa.Table, keys: tuple[str, ...]) -> np.ndarray[Any, Any]:
    """The sync clock's value of each row, int64 nanoseconds."""
    if len(keys) == 1:
        return np.asarray(batch.column(keys[0]).to_numpy(), dtype=np.int64)
    sec, nanosec = (np.asarray(batch.column(k).to_numpy(), dtype=np.int64) for k in keys)
    return sec * 1_000_000_000 + nanosec


@dataclass
class _Joined:
    """A joined topic's rows (memory-mapped) and its keys in sorted order."""

    table: pa.Table
    sorted_keys: np.ndarray[Any, Any]
    order: np.ndarray[Any, Any]
    """Row number of each sorted key (a stable sort: equal keys keep the table's order)."""
    matched: int = 0
    largest_offset_ns: int | None = None


def _load(topic: _Topic, folder: Path, copy: Path, fmt: str) -> _Joined:
    """A joined topic's table, copied to `copy` (Arrow IPC) and memory-mapped from there."""
    source = within(folder, topic.stem + SUFFIX[fmt])
    with pa.OSFile(str(copy), "wb") as sink, pa.ipc.new_file(sink, topic.schema) as writer:
        for batch in _read_batches(source, topic.schema, fmt, 65_536):
            writer.write_batch(batch)
    table = pa.ipc.open_file(pa.memory_map(str(copy), "r")).read_all()
    keys = _key(table, topic.keys) if table.num_rows else np.empty(0, np.int64)
    order = np.argsort(keys, kind="stable")
    return _Joined(table, keys[order], order)


def match(
    sorted_keys: np.ndarray[Any, Any],
    order: np.ndarray[Any, Any],
    times: np.ndarray[Any, Any],
    method: str,
    tolerance_ns: int,
) -> np.ndarray[Any, Any]:
    """For each of `times`, the row (in table order) of its match, or -1 (see `positions`)."""
    found = positions(sorted_keys, times, method, tolerance_ns)
    return np.where(found >= 0, order[np.maximum(found, 0)], _NO_MATCH) if len(order) else found


def positions(
    sorted_keys: np.ndarray[Any, Any], times: np.ndarray[Any, Any], method: str, tolerance_ns: int
) -> np.ndarray[Any, Any]:
    """For each of `times`, where its match is among `sorted_keys`, or -1.

    `last-before`: the greatest key at or before the time. `nearest`: the key closest to it,
    the earlier one when two are as close. Several rows with the matched key: the last of
    them (in a stable sort, the latest recorded). Within `tolerance_ns`, inclusive.
    """
    count = len(sorted_keys)
    if count == 0:
        return np.full(len(times), _NO_MATCH, np.int64)
    right = np.searchsorted(sorted_keys, times, side="right")
    before = right - 1  # the last key <= time
    has_before = before >= 0
    at_before = np.clip(before, 0, count - 1)
    gap_before = np.where(has_before, times - sorted_keys[at_before], _FAR)
    if method == "last-before":
        chosen, gap = at_before, gap_before
    else:
        # The first key > time, and the last row holding that key.
        after = right
        has_after = after < count
        at_after = np.clip(after, 0, count - 1)
        at_after = np.searchsorted(sorted_keys, sorted_keys[at_after], side="right") - 1
        gap_after = np.where(has_after, sorted_keys[at_after] - times, _FAR)
        take_after = gap_after < gap_before
        chosen = np.where(take_after, at_after, at_before)
        gap = np.where(take_after, gap_after, gap_before)
    return np.where(gap <= tolerance_ns, chosen, _NO_MATCH)


def write(
    folder: Path, plan: Plan, options: Options, progress: Progress | None = None
) -> dict[str, Any]:
    """Write the synchronized table into `folder` (beside the topics' tables); its manifest
    entry (`sync`). `progress` hears of every batch of reference rows (count, log time)."""
    fmt = options.format
    entry: dict[str, Any] = {
        **plan.options.record(),
        "files": [],
        "rows": 0,
        "joined": [],
        "absent_topics": plan.absent,
        "columns": {},
    }
    name = table_name(plan, fmt)
    ref = plan.reference
    if name is None or ref is None:
        entry["reason"] = f"the reference topic {plan.options.reference} is not in the bag"
        return entry
    names = _names(plan, options.separator)
    types = [*ref.schema.types]
    for other in plan.others:
        own = other.schema.types
        types += [*own[: len(TIME_COLUMNS)], pa.int64(), *own[len(TIME_COLUMNS) :]]
    schema = pa.schema([pa.field(n, t) for n, t in zip(names, types, strict=True)])
    within(folder, FOLDER).mkdir()
    target = within(folder, name)
    with tempfile.TemporaryDirectory(prefix=".sync-", dir=folder) as scratch:
        joined = [
            _load(other, folder, Path(scratch) / f"{i}.arrow", fmt)
            for i, other in enumerate(plan.others)
        ]
        writer = _Writer(fmt, target, schema)
        try:
            source = within(folder, ref.stem + SUFFIX[fmt])
            for batch in _read_batches(source, ref.schema, fmt, rows_per_batch(len(names))):
                entry["rows"] += batch.num_rows
                writer.write(_wide(batch, ref, plan, joined, schema))
                if progress is not None and batch.num_rows:
                    progress.update(entry["rows"], batch.column(0)[-1].as_py())
        finally:
            writer.close()
        entry["joined"] = [
            {
                "topic": other.topic,
                "name": other.stem,
                "prefix": other.prefix,
                "matched": state.matched,
                "unmatched": entry["rows"] - state.matched,
                "largest_offset_ns": state.largest_offset_ns,
            }
            for other, state in zip(plan.others, joined, strict=True)
        ]
        del joined  # the memory maps, before their files go
    entry["files"] = [name]
    for topic in [ref, *plan.others]:
        for column, source_name in zip(topic.columns, _own_columns(topic, ref), strict=True):
            entry["columns"][column] = {"topic": topic.topic, "column": source_name}
    return entry


def _own_columns(topic: _Topic, ref: _Topic) -> list[str]:
    """The columns a topic gives the table, as its own table (or the sync) names them."""
    fields = topic.schema.names[len(TIME_COLUMNS) :]
    return fields if topic is ref else [*TIME_COLUMNS, OFFSET_COLUMN, *fields]


def _wide(
    batch: pa.RecordBatch, ref: _Topic, plan: Plan, joined: list[_Joined], schema: pa.Schema
) -> pa.Table:
    """The rows of one batch of the reference table, every joined topic matched to them."""
    times = _key(batch, ref.keys)
    arrays: list[pa.Array | pa.ChunkedArray] = list(batch.columns)
    for state in joined:
        at = positions(state.sorted_keys, times, plan.options.method, plan.options.tolerance_ns)
        found = at != _NO_MATCH
        state.matched += int(found.sum())
        rows = state.order[np.maximum(at, 0)] if len(state.order) else at
        taken = state.table.take(pa.array(rows, type=pa.int64(), mask=~found))
        offsets = np.zeros(len(times), np.int64)
        if found.any():
            offsets[found] = state.sorted_keys[at[found]] - times[found]
            largest = int(np.abs(offsets[found]).max())
            previous = state.largest_offset_ns
            state.largest_offset_ns = largest if previous is None else max(previous, largest)
        own = taken.columns
        arrays += [
            *own[: len(TIME_COLUMNS)],
            pa.array(offsets, mask=~found),
            *own[len(TIME_COLUMNS) :],
        ]
    return pa.Table.from_arrays(arrays, schema=schema)


class _Writer:
    """The synchronized table's file, written by the extraction's own writers' rules."""

    def __init__(self, fmt: str, path: Path, schema: pa.Schema) -> None:
        self._schema = schema
        self._parquet: Any = None
        self._csv: CsvWriter | None = None
        if fmt == "csv":
            self._csv = CsvWriter(path, schema)
        else:
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        if self._csv is not None:
            self._csv.write_table(table)
        else:
            self._parquet.write_table(table)

    def close(self) -> None:
        if self._csv is not None:
            self._csv.close()
        else:
            self._parquet.close()
