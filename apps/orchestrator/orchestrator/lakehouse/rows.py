"""A topic's table file as lake rows: typed for Delta, with bag_id, topic and date columns."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

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


def read_table_file(table: TopicTable) -> pa.Table:
    if table.path.suffix == ".parquet":
        return pq.read_table(table.path)
    # CSV keeps no types: its log_time is ISO 8601 text (docs/processor.md); the rest inferred.
    options = pcsv.ConvertOptions(column_types={LOG_TIME_NS: pa.int64(), LOG_TIME: _TIMESTAMP})
    return pcsv.read_csv(table.path, convert_options=options)


def lake_rows(bag_id: str, table: TopicTable) -> pa.Table:
    """The topic's rows with the lake's key columns first."""
    data = read_table_file(table)
    # A message field may be named like a key column: it keeps its data under another name.
    data = data.rename_columns(
        [f"{n}__msg" if n in (BAG_ID, TOPIC, DATE) else n for n in data.column_names]
    )
    # Times lose their nanoseconds to Delta's microseconds on purpose; every other cast is exact.
    columns = [
        c.cast(options=pc.CastOptions(delta_type(c.type), allow_time_truncate=True))
        for c in data.columns
    ]
    schema = pa.schema([f.with_type(delta_type(f.type)) for f in data.schema])
    data = pa.Table.from_arrays(columns, schema=schema)
    times = data.column(LOG_TIME).cast(_TIMESTAMP)
    days = pc.strftime(times, format="%Y-%m-%d")  # pyright: ignore[reportAttributeAccessIssue]
    rows = len(data)
    return (
        data.add_column(0, BAG_ID, pa.array([bag_id] * rows, pa.string()))
        .add_column(1, TOPIC, pa.array([table.topic] * rows, pa.string()))
        .add_column(2, DATE, days.cast(pa.string()))
    )
