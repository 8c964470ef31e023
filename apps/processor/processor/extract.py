"""Stream a bag (or one time range of it) into per-topic tables and side files."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from processor.background import BackgroundWriter
from processor.bag import Bag, Stream
from processor.batching import BatchedTable, DecodeFailure
from processor.budget import Budget
from processor.columnar import columnar_decoder
from processor.errors import BagError, TopicDecodeError, reason
from processor.flatten import Layout, build_layout
from processor.names import side_folder, topic_stem
from processor.options import Options, slashed
from processor.output import within
from processor.progress import Progress
from processor.sidefiles import SideFiles
from processor.tables import SUFFIX, TableWriter

_PROGRESS_EVERY = 2048  # messages between clock reads; a power of two, tested with a mask
MAX_LOG_TIME = 2**63 - 1
BAD_EXAMPLES = 5  # bad messages listed (log time and reason) per table; all are counted


@dataclass
class TopicResult:
    """What one table (one topic and message type) received, or why it was skipped."""

    topic: str
    msgtype: str
    stem: str
    messages: int = 0
    """Rows written: messages read, less the bad ones."""
    bad: int = 0
    """Messages that did not match the topic's definition: counted, listed, not written."""
    bad_examples: list[dict[str, Any]] = field(default_factory=list)
    declared: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    files: list[str] = field(default_factory=list)
    side_files: int = 0
    definition: str = ""
    skip_reason: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    """Each column whose name is not its field's dotted path: name -> path (manifest)."""
    notes: dict[str, int] = field(default_factory=dict)
    """Per remark on some of the messages (a frame kept as it is, ...), how many it concerns."""

    def add_bad(self, log_time: int, reason: str) -> None:
        self.bad += 1
        if len(self.bad_examples) < BAD_EXAMPLES:
            self.bad_examples.append({"log_time_ns": log_time, "reason": reason})


def select_streams(bag: Bag, topics: Sequence[str] | None, *, strict: bool = True) -> list[Stream]:
    """The streams of the requested topics, or all of them. A topic is given with or without
    its leading slash, and selects the bag's topics of either spelling (`rel` and `/rel`).
    `strict`: a requested topic the bag lacks is an error (`--missing-topics fail`)."""
    if not topics:
        return list(bag.streams)
    wanted = {slashed(t) for t in topics}
    if strict and (missing := absent_topics(bag, topics)):
        available = ", ".join(sorted({s.topic for s in bag.streams})) or "none"
        raise BagError(
            f"{bag.path}: topic(s) {', '.join(missing)} not in the bag (available: {available})"
        )
    return [s for s in bag.streams if slashed(s.topic) in wanted]


def absent_topics(bag: Bag, topics: Sequence[str] | None) -> list[str]:
    """The requested topics (leading slash) that the bag does not have, sorted."""
    return sorted({slashed(t) for t in topics or ()} - {slashed(s.topic) for s in bag.streams})


@dataclass
class _Table:
    result: TopicResult
    layout: Layout | None
    writer: TableWriter | None
    sink: SideFiles | None
    batched: BatchedTable | None = None
    """Set when the table's type can be decoded a batch at a time (processor.columnar)."""


LayoutCache = dict[tuple[int, str], Layout]


def _group(
    streams: Sequence[Stream], options: Options, layouts: LayoutCache
) -> dict[int, TopicResult]:
    """Assign each stream a table: one per topic and type (and column layout).

    A topic's tables are numbered in an order that depends on that topic's connections
    alone (type, then columns), so its file names never depend on the rest of the bag.
    """
    shapes: dict[str, dict[tuple[str, str], list[Stream]]] = {}
    for stream in streams:
        shape = ""
        if stream.typestore is not None:
            # Connections whose definitions differ get their own table: one schema each.
            layout = _layout(stream, options, layouts)
            shape = repr([(c.name, repr(c.desc)) for c in layout.columns])
        shapes.setdefault(stream.topic, {}).setdefault((stream.msgtype, shape), []).append(stream)
    by_stream: dict[int, TopicResult] = {}
    stems: set[str] = set()
    for topic, tables in sorted(shapes.items()):
        ordered = sorted(tables, key=lambda key: (key[0], key[1] == "", key[1]))
        for number, key in enumerate(ordered, 1):
            first = tables[key][0]
            stem = topic_stem(topic, number)
            if stem in stems:  # only a SHA-256 prefix collision could get here
                raise AssertionError(f"two tables would be named {stem}")
            stems.add(stem)
            result = TopicResult(
                topic,
                first.msgtype,
                stem,
                definition=first.definition_source,
                skip_reason=first.skip_reason,
            )
            for stream in tables[key]:
                result.declared += stream.declared
                by_stream[id(stream)] = result
    return by_stream


def _layout(stream: Stream, options: Options, layouts: LayoutCache) -> Layout:
    """One compiled layout per typestore and type (connections often share both)."""
    assert stream.typestore is not None
    key = (id(stream.typestore), stream.msgtype)
    if key not in layouts:
        layouts[key] = build_layout(
            stream.typestore,
            stream.msgtype,
            lists_as_json=options.format == "csv",
            ros1=not stream.cdr,
            separator=options.separator,
        )
    return layouts[key]


def extract_range(
    bag: Bag,
    streams: Sequence[Stream],
    folder: Path,
    options: Options,
    start: int | None,
    stop: int | None,
    progress: Progress,
) -> list[TopicResult]:
    """Write the tables of `streams` for messages in [start, stop) into `folder`."""
    # Arrow's own pool (mimalloc) keeps what it freed for reuse; the C library's malloc
    # shares its free memory with Python's: 30-40 MB less peak RSS on the 1 GB drives, at
    # no measurable CPU cost (python scripts/bench_processor.py --size 1GB, issue 17).
    pa.set_memory_pool(pa.system_memory_pool())
    layouts: LayoutCache = {}  # per run: typestores (and so their ids) live as long as the bag
    by_stream = _group(streams, options, layouts)
    tables: dict[int, _Table] = {}
    opened: dict[int, _Table] = {}
    background = BackgroundWriter()
    out = _Output(folder, options, layouts, background, Budget())
    try:
        for stream in streams:
            result = by_stream[id(stream)]
            if id(result) not in opened:
                opened[id(result)] = _open(stream, result, out)
            tables[id(stream)] = opened[id(result)]
        count = _stream_messages(bag, streams, tables, background, start, stop, progress)
        _flush_batches(opened.values())
        background.drain()
    except BaseException:
        # The error being raised is the one to report, not what closing then runs into.
        _close(opened.values(), background, quietly=True)
        raise
    _close(opened.values(), background, quietly=False)
    progress.finish(count)
    results = []
    for table in opened.values():
        result = table.result
        if table.sink is not None:
            result.side_files = table.sink.count
            if table.sink.count:
                result.files.append(f"{table.sink.folder}/")
            for note, count in table.sink.notes.items():
                result.notes[note] = result.notes.get(note, 0) + count
        results.append(result)
    return sorted(results, key=lambda r: r.stem)


def _stream_messages(
    bag: Bag,
    streams: Sequence[Stream],
    tables: dict[int, _Table],
    background: BackgroundWriter,
    start: int | None,
    stop: int | None,
    progress: Progress,
) -> int:
    """The hot loop: every message is decoded and written, or buffered by its batched table;
    returns the message count."""
    count = 0
    messages = bag.messages(streams, start, stop)
    while True:
        try:
            stream, log_time, raw = next(messages)
        except StopIteration:
            break
        except Exception as err:
            raise BagError(
                f"{bag.path}: the bag is damaged and cannot be read to the end ({reason(err)})"
            ) from None
        table = tables[id(stream)]
        count += 1
        if not count & _PROGRESS_EVERY - 1:
            progress.update(count, log_time)
        result = table.result
        if log_time > MAX_LOG_TIME:  # MCAP log times are unsigned; the tables' are int64
            result.add_bad(log_time, f"its log time {log_time} ns is beyond int64 (year 2262)")
            continue
        if result.first_ns is None:
            result.first_ns = log_time
        result.last_ns = log_time
        if table.writer is None or table.layout is None or stream.decode is None:
            result.messages += 1
            continue
        if table.batched is not None:  # decoded later, a batch at a time
            table.batched.add(log_time, raw, stream.decode)
            result.messages += 1
            continue
        if table.sink is not None:
            table.sink.time = log_time
        try:
            row = table.layout.row(stream.decode(raw), log_time, table.sink)
        except TopicDecodeError as err:
            result.add_bad(log_time, _mismatch(log_time, stream.msgtype, str(err)))
            continue
        table.writer.write(row)
        result.messages += 1
    return count


def _mismatch(log_time: int, msgtype: str, reason: str) -> str:
    return (
        f"a message at log time {log_time} ns does not match the definition of {msgtype}: {reason}"
    )


def _count_bad(result: TopicResult, failures: Sequence[DecodeFailure]) -> None:
    """Messages a batch could not decode: they were counted as rows when buffered."""
    result.messages -= len(failures)
    for failure in failures:
        result.add_bad(
            failure.log_time, _mismatch(failure.log_time, result.msgtype, failure.reason)
        )


def _flush_batches(tables: Iterable[_Table]) -> None:
    """Decode what batched tables still hold, and count their bad messages."""
    for table in tables:
        if table.batched is not None:
            table.batched.write_out()
            _count_bad(table.result, table.batched.failures)


def _close(tables: Iterable[_Table], background: BackgroundWriter, *, quietly: bool) -> None:
    """Close every table and the background writer; raise the first error unless `quietly`."""
    errors: list[Exception] = []
    for table in tables:
        if table.writer is not None:
            try:
                table.writer.close()
            except Exception as err:
                errors.append(err)
    try:
        background.close()
    except Exception as err:
        errors.append(err)
    if errors and not quietly:
        raise errors[0]


@dataclass(frozen=True)
class _Output:
    """Where and how one run writes its tables."""

    folder: Path
    options: Options
    layouts: LayoutCache
    background: BackgroundWriter
    budget: Budget


def _open(stream: Stream, result: TopicResult, out: _Output) -> _Table:
    if stream.typestore is None or result.skip_reason is not None:
        return _Table(result, None, None, None)
    layout = _layout(stream, out.options, out.layouts)
    fmt = out.options.format
    name = result.stem + SUFFIX[fmt]
    path = within(out.folder, name)
    writer = TableWriter(fmt, path, layout, stream.typestore, out.background, out.budget)
    result.files.append(name)
    result.columns = {c.name: c.path for c in layout.fields if c.name != c.path}
    sink = None
    if layout.has_side_files:
        sink = SideFiles(out.folder, side_folder(result.stem), out.background)
    decoder = columnar_decoder(layout, stream.typestore, writer.schema.types, cdr=stream.cdr)
    batched = None
    if decoder is not None and stream.decode is not None:
        batched = BatchedTable(writer, layout, decoder, out.budget, stream.decode)
    return _Table(result, layout, writer, sink, batched)


def skip_undecoded(results: Iterable[TopicResult], folder: Path) -> None:
    """Skip the tables none of whose messages decode after all: their files go, their
    messages are counted as skipped. Decided over the whole bag (an unsharded run, or the
    merge of shards: one shard's slice may hold only a topic's bad messages), never per shard."""
    for result in results:
        if not result.files or not result.bad or result.messages:
            continue
        for file in result.files:
            path = within(folder, file)
            if file.endswith("/"):
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        first = result.bad_examples[0]["reason"]
        result.skip_reason = f"no message matches the definition; the first: {first}"
        result.files.clear()
        result.side_files = 0
        result.messages += result.bad
        result.bad, result.bad_examples = 0, []


def as_manifest_topics(results: Sequence[TopicResult]) -> tuple[list[Any], list[Any]]:
    """The manifest's `topics` and `skipped` lists."""
    topics, skipped = [], []
    for r in results:
        if r.skip_reason is None:
            topics.append(
                {
                    "topic": r.topic,
                    "msgtype": r.msgtype,
                    "messages": r.messages,
                    "name": r.stem,
                    "files": r.files,
                    "side_files": r.side_files,
                    "first_ns": r.first_ns,
                    "last_ns": r.last_ns,
                    "definition": r.definition,
                    "columns": r.columns,
                    "bad_messages": r.bad,
                    "bad_examples": r.bad_examples,
                    "notes": [{"note": n, "messages": c} for n, c in sorted(r.notes.items())],
                }
            )
        else:
            skipped.append(
                {
                    "topic": r.topic,
                    "msgtype": r.msgtype,
                    "messages": r.messages,
                    "name": r.stem,
                    "reason": r.skip_reason,
                    "first_ns": r.first_ns,
                    "last_ns": r.last_ns,
                }
            )
    return topics, skipped
