"""A topic's table file as lake rows: typed for Delta, with bag_id, topic and date columns."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from orchestrator.lakehouse.names import TF_TABLE
from orchestrator.lakehouse.outputs import TopicTable

BAG_ID, TOPIC, DATE = "bag_id", "topic", "date"
LOG_TIME_NS, LOG_TIME = "log_time_ns", "log_time"
PARTITIONS = [DATE, TOPIC]
_TIMESTAMP = pa.timestamp("ns", tz="UTC")

# Delta has no unsigned integers (https://github.com/delta-io/delta/blob/master/PROTOCOL.md
# #primitive-types): each becomes the next wider signed type, uint64 a decimal(20, 0) that
# holds all of its values (deltalake would otherwise cast it to int64 and wrap the large ones).
_UNSIGNED = {
    pa.uint8(): pa.int16(),
    pa.uint16(): pa.int32(),
    pa.uint32(): pa.int64(),
    pa.uint64(): pa.decimal128(20, 0),
}


def delta_type(arrow: pa.DataType) -> pa.DataType:
    """The type a column gets in the lake: unsigned widened, nested types mapped inside."""
    if arrow in _UNSIGNED:
        return _UNSIGNED[arrow]
    if pa.types.is_timestamp(arrow):  # Delta's timestamps are microseconds (log_time_ns: exact)
        return pa.timestamp("us", tz=arrow.tz)
    if pa.types.is_list(arrow) or pa.types.is_large_list(arrow):
        return pa.list_(delta_type(arrow.value_type))
    if pa.types.is_fixed_size_list(arrow):
        return pa.list_(delta_type(arrow.value_type))
    if pa.types.is_struct(arrow):
        return pa.struct([f.with_type(delta_type(f.type)) for f in arrow])
    return arrow


BATCH_ROWS = 65_536  # rows per batch read from a Parquet table: what bounds the commit's memory


def _csv_options(columns: list[str] | None = None) -> pcsv.ConvertOptions:
    # CSV keeps no types: its log_time is ISO 8601 text (docs/processor.md); the rest inferred.
    return pcsv.ConvertOptions(
        column_types={LOG_TIME_NS: pa.int64(), LOG_TIME: _TIMESTAMP},
        include_columns=columns or [],
    )


def read_table_file(table: TopicTable) -> pa.Table:
    if table.path.suffix == ".parquet":
        return pq.read_table(table.path)
    return pcsv.read_csv(table.path, convert_options=_csv_options())


def read_columns(table: TopicTable, columns: list[str]) -> pa.Table:
    """Only these columns of the topic's table (those it has): the stats need a few of many."""
    if table.path.suffix == ".parquet":
        present = set(pq.read_schema(table.path).names)
        return pq.read_table(table.path, columns=[c for c in columns if c in present])
    header = pcsv.open_csv(table.path).schema.names
    return pcsv.read_csv(
        table.path, convert_options=_csv_options([c for c in columns if c in header])
    )


def _file_batches(table: TopicTable) -> Iterator[pa.RecordBatch]:
    """The table file's rows, a batch at a time for Parquet. A CSV file is read whole: its column
    types are inferred over all of its values, which a streaming CSV reader cannot do (it fixes
    them from the first block and fails on a later value that does not fit)."""
    if table.path.suffix == ".parquet":
        yield from pq.ParquetFile(table.path).iter_batches(batch_size=BATCH_ROWS)
    else:
        yield from read_table_file(table).to_batches(max_chunksize=BATCH_ROWS)


def _file_schema(table: TopicTable) -> pa.Schema:
    if table.path.suffix == ".parquet":
        return pq.read_schema(table.path)
    return read_table_file(table).schema


# tf/transforms holds both TF topics' rows, told apart by `static` (docs/processor.md TF).
TF_STATIC, TF_TOPICS = "static", ("/tf_static", "/tf")


def _topic_column(table: TopicTable, batch: pa.RecordBatch) -> pa.Array | str:
    """The rows' `topic`: the table's, or for the TF transforms each row's TF topic."""
    if table.fleet != TF_TABLE or TF_STATIC not in batch.schema.names:
        return table.topic
    static = batch.column(TF_STATIC).cast(pa.bool_()).fill_null(False)
    return pc.if_else(static, *TF_TOPICS)  # pyright: ignore[reportAttributeAccessIssue]


def lake_batch(bag_id: str, topic: str | pa.Array, batch: pa.RecordBatch) -> pa.RecordBatch:
    """One batch of a topic's rows with the lake's key columns first, typed for Delta; `topic`
    is one name for every row, or one per row."""
    # A message field may be named like a key column: it keeps its data under another name.
    names = [f"{n}__msg" if n in (BAG_ID, TOPIC, DATE) else n for n in batch.schema.names]
    # Times lose their nanoseconds to Delta's microseconds on purpose; every other cast is exact.
    columns = [
        c.cast(options=pc.CastOptions(delta_type(c.type), allow_time_truncate=True))
        for c in batch.columns
    ]
    fields = [
        f.with_name(n).with_type(delta_type(f.type))
        for f, n in zip(batch.schema, names, strict=True)
    ]
    # A CSV column empty in every row has no type (pyarrow infers null), and a null column in
    # the lake would reject the next bag that has values there as a type conflict: it is left
    # out (reads null), and the first bag with values gives the column its type. A joined
    # topic with no match within the tolerance gives such columns (docs/processor.md Synchronized).
    typed = [i for i, f in enumerate(fields) if not pa.types.is_null(f.type)]
    names = [names[i] for i in typed]
    columns, fields = [columns[i] for i in typed], [fields[i] for i in typed]
    rows = batch.num_rows
    times = columns[names.index(LOG_TIME)].cast(_TIMESTAMP)
    days = pc.strftime(times, format="%Y-%m-%d")  # pyright: ignore[reportAttributeAccessIssue]
    keys = [
        pa.array([bag_id] * rows, pa.string()),
        pa.array([topic] * rows, pa.string()) if isinstance(topic, str) else topic,
        days.cast(pa.string()),
    ]
    keyed = [
        pa.field(BAG_ID, pa.string()),
        pa.field(TOPIC, pa.string()),
        pa.field(DATE, pa.string()),
    ]
    schema = pa.schema([*keyed, *fields])
    return pa.RecordBatch.from_arrays([*keys, *columns], schema=schema)


def lake_schema(bag_id: str, table: TopicTable) -> pa.Schema:
    """The schema the topic's rows get in the lake, from the file's schema alone (Parquet)."""
    empty = pa.RecordBatch.from_pylist([], schema=_file_schema(table))
    return lake_batch(bag_id, _topic_column(table, empty), empty).schema


def lake_batches(bag_id: str, table: TopicTable) -> Iterator[pa.RecordBatch]:
    """The topic's rows as lake rows, a batch at a time."""
    for batch in _file_batches(table):
        yield lake_batch(bag_id, _topic_column(table, batch), batch)


def lake_rows(bag_id: str, table: TopicTable) -> pa.Table:
    """The topic's rows as lake rows, whole (tests and small tables)."""
    return pa.Table.from_batches(list(lake_batches(bag_id, table)), lake_schema(bag_id, table))
