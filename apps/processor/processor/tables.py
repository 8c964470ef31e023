"""Table writers: rows are buffered, converted to Arrow in batches and written by Arrow.

Both formats go through pyarrow: Parquet by its writer, CSV as text made by Arrow's
compute kernels (processor.csvtext), several times faster than the csv module, and
batches bound memory: at most 8 192 rows and about a million values at a time.
Converting rows needs the GIL and stays on the decoding thread; formatting and writing a
batch do not, so they run on the background writer, beside the next batch's decoding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from rosbags.interfaces import Nodetype
from rosbags.typesys.store import Typestore

from processor.background import BackgroundWriter
from processor.budget import Budget
from processor.flatten import TIME_COLUMNS, Column, FieldDesc, Layout
from processor.options import FORMATS
from processor.ros1 import ros1_desc

SUFFIX = {output_format: f".{output_format}" for output_format in FORMATS}
_MAX_BATCH_ROWS = 8_192
_TIMESTAMP = pa.timestamp("ns", tz="UTC")
_BATCH_VALUES = 1_000_000


class TableWriter:
    """One table file; `write` takes rows as the layout's row function makes them."""

    def __init__(
        self,
        fmt: str,
        path: Path,
        layout: Layout,
        store: Typestore,
        background: BackgroundWriter,
        budget: Budget,
    ) -> None:
        self.path = path
        self._background = background
        self._budget = budget
        self.held = 0
        """Bytes counted against the budget for the buffered rows (an estimate per row)."""
        budget.register(self)
        self.schema = pa.schema(
            [
                pa.field(c.name, arrow_type(c, store, lists_as_text=fmt == "csv", ros1=layout.ros1))
                for c in layout.columns
            ]
        )
        self._widths = layout.widths
        self._row_types = row_types(self.schema.types)
        self._writer: Any
        self._csv = fmt == "csv"
        if self._csv:
            from processor.csvtext import CsvWriter  # only here: Parquet runs need none of it

            self._writer = CsvWriter(path, self.schema)
        else:
            import pyarrow.parquet as pq  # only here: it adds to every CSV run's start-up

            self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self._rows: list[tuple[Any, ...]] = []
        self._batch_rows = 0
        self._row_bytes = 0

    def write(self, row: tuple[Any, ...]) -> None:
        if not self._batch_rows:
            self._batch_rows, self._row_bytes = _batch_rows(row), _row_bytes(row)
        self._rows.append(row)
        size = self._row_bytes
        self.held += size
        budget = self._budget
        budget.held += size
        if len(self._rows) >= self._batch_rows:
            self._flush()
        elif budget.held > budget.limit:
            budget.relieve()

    def write_out(self) -> None:
        """Write the buffered rows now (the budget asks)."""
        self._flush()

    def write_rows(self, rows: list[tuple[Any, ...]]) -> None:
        """Write `rows` now, after any buffered ones."""
        self._rows.extend(rows)
        self._flush()

    def write_columns(self, times: Any, columns: list[pa.Array]) -> None:
        """Write a batch given as its log times (a list or an int64 numpy array) and message
        columns, after any buffered rows."""
        self._flush()
        self._submit([pa.array(times, type=pa.int64()), *columns])

    def row_columns(self, rows: list[tuple[Any, ...]]) -> list[pa.Array]:
        """The columns of `rows` (the log time first), as `write_rows` would write them."""
        return rows_to_arrays(rows, self._widths, self._row_types)

    def _flush(self) -> None:
        if self._rows:
            self._budget.held -= self.held
            self.held = 0
            arrays = rows_to_arrays(self._rows, self._widths, self._row_types)
            self._rows.clear()
            self._submit(arrays)

    def _submit(self, arrays: list[pa.Array]) -> None:
        """Write the log times and the message columns (the timestamp is a view of the times)."""
        times, *fields = arrays
        stamps = times.view(_TIMESTAMP)
        table = pa.Table.from_arrays([times, stamps, *fields], schema=self.schema)
        if self._csv:  # its Python part here: see processor.csvtext.CsvWriter
            self._background.submit(
                self._writer.write_plans, self._writer.plan(table), size=table.nbytes
            )
        else:
            self._background.submit(self._writer.write_table, table, size=table.nbytes)

    def close(self) -> None:
        """Write what is buffered and close the file (once every batch has reached it)."""
        try:
            self._flush()
            self._background.drain()
        finally:
            self._writer.close()


def row_types(types: list[pa.DataType]) -> list[pa.DataType]:
    """The Arrow types of a row's items: its one log time fills both time columns."""
    return [types[0], *types[len(TIME_COLUMNS) :]]


def rows_to_arrays(
    rows: list[tuple[Any, ...]], widths: tuple[int, ...], types: list[pa.DataType]
) -> list[pa.Array]:
    """The table's columns from rows as the layout's row function makes them."""
    remaining = iter(types)
    arrays: list[pa.Array] = []
    for values, width in zip(zip(*rows, strict=True), widths, strict=True):
        if width == 1:
            arrays.append(pa.array(values, type=next(remaining)))
        else:  # a numeric fixed-size array: one 2-D block, then a column per element
            block = np.concatenate(values).reshape(-1, width)  # 4x faster than stack
            arrays.extend(pa.array(block[:, i], type=next(remaining)) for i in range(width))
    return arrays


def _batch_rows(row: tuple[Any, ...]) -> int:
    """Rows per batch: fewer when rows carry long lists, so a batch's size stays bounded."""
    values = sum(
        len(value) if isinstance(value, list | str) else getattr(value, "size", 1) for value in row
    )
    return rows_per_batch(values)


def _row_bytes(row: tuple[Any, ...]) -> int:
    """About what a row weighs in Python objects (the budget's estimate for every row of
    the table: rows of one type weigh alike, except for lists and strings)."""
    size = 56 + 8 * len(row)
    for value in row:
        if isinstance(value, str):
            size += 49 + len(value)
        elif isinstance(value, list):
            size += 56 + 72 * len(value)
        elif (nbytes := getattr(value, "nbytes", None)) is not None:
            size += 112 + nbytes
        else:
            size += 32
    return size


def rows_per_batch(values_per_row: int) -> int:
    """At most 8 192 rows and about a million values, and at least 64 rows."""
    return max(64, min(_MAX_BATCH_ROWS, _BATCH_VALUES // max(values_per_row, 1)))


_ARROW_BASE = {
    "bool": "bool_",
    "int8": "int8",
    "uint8": "uint8",
    "byte": "int8",  # rosbags reads byte signed and char unsigned
    "char": "uint8",
    "int16": "int16",
    "uint16": "uint16",
    "int32": "int32",
    "uint32": "uint32",
    "int64": "int64",
    "uint64": "uint64",
    "float32": "float32",
    "float64": "float64",
    "string": "string",
    "wstring": "string",
    "wchar": "uint16",
}


def arrow_type(
    column: Column, store: Typestore, *, lists_as_text: bool, ros1: bool = False
) -> pa.DataType:
    if column.role == "timestamp":
        return _TIMESTAMP
    if column.role == "file" or column.desc is None or (column.role == "list" and lists_as_text):
        return pa.string()
    return _desc_type(column.desc, store, ros1=ros1)


def _desc_type(desc: FieldDesc, store: Typestore, *, ros1: bool) -> pa.DataType:
    kind, detail = desc
    if kind == Nodetype.BASE:
        return getattr(pa, _ARROW_BASE[detail[0]])()
    if kind == Nodetype.NAME:
        return pa.struct(
            [
                pa.field(
                    name,
                    _desc_type(ros1_desc(detail, name, sub) if ros1 else sub, store, ros1=ros1),
                )
                for name, sub in store.fielddefs[detail][1]
            ]
        )
    return pa.list_(_desc_type(detail[0], store, ros1=ros1))
