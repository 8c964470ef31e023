"""Table writers: rows are buffered and written in batches so memory stays bounded."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rosbags.interfaces import Nodetype
from rosbags.typesys.store import Typestore

from processor.errors import BagError
from processor.flatten import Column, FieldDesc

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("csv", "parquet")
SUFFIX = {"csv": ".csv", "parquet": ".parquet"}
_CSV_BATCH = 512
# Parquet row groups hold at most this many rows, and fewer when rows carry long lists,
# so a group stays around a few million values whatever the message type.
_MAX_GROUP_ROWS = 16_384
_GROUP_VALUES = 2_000_000


class TableWriter(Protocol):
    path: Path

    def write(self, row: tuple[Any, ...]) -> None: ...

    def close(self) -> None: ...


class CsvTable:
    """A CSV table: header row of column names, values as Python writes them (exact)."""

    def __init__(self, path: Path, columns: tuple[Column, ...]) -> None:
        self.path = path
        self._file = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._writer.writerow([column.name for column in columns])
        self._rows: list[tuple[Any, ...]] = []

    def write(self, row: tuple[Any, ...]) -> None:
        self._rows.append(row)
        if len(self._rows) >= _CSV_BATCH:
            self._writer.writerows(self._rows)
            self._rows.clear()

    def close(self) -> None:
        self._writer.writerows(self._rows)
        self._rows.clear()
        self._file.close()


class ParquetTable:
    """A Parquet table with a schema derived from the message definition."""

    def __init__(self, path: Path, columns: tuple[Column, ...], store: Typestore) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise BagError(
                "--format parquet needs pyarrow: install the processor with its parquet extra "
                "(pip install 'rosbag-processor[parquet]')"
            ) from None
        self.path = path
        self._pa = pa
        self.schema = pa.schema(
            [pa.field(column.name, arrow_type(column, store)) for column in columns]
        )
        self._writer = pq.ParquetWriter(path, self.schema, compression="zstd")
        self._rows: list[tuple[Any, ...]] = []
        self._group_rows = 0

    def write(self, row: tuple[Any, ...]) -> None:
        if not self._group_rows:
            self._group_rows = _group_rows(row)
        self._rows.append(row)
        if len(self._rows) >= self._group_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        columns = list(zip(*self._rows, strict=True))
        arrays = [
            self._pa.array(values, type=field.type)
            for values, field in zip(columns, self.schema, strict=True)
        ]
        self._writer.write_table(self._pa.Table.from_arrays(arrays, schema=self.schema))
        self._rows.clear()

    def close(self) -> None:
        self._flush()
        self._writer.close()


def _group_rows(row: tuple[Any, ...]) -> int:
    values = sum(len(value) if isinstance(value, list) else 1 for value in row)
    return max(64, min(_MAX_GROUP_ROWS, _GROUP_VALUES // max(values, 1)))


def open_table(fmt: str, path: Path, columns: tuple[Column, ...], store: Typestore) -> TableWriter:
    if fmt == "csv":
        return CsvTable(path, columns)
    return ParquetTable(path, columns, store)


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


def arrow_type(column: Column, store: Typestore) -> pa.DataType:
    import pyarrow as pa

    if column.role == "file" or column.desc is None:
        return pa.string()
    return _desc_type(column.desc, store)


def _desc_type(desc: FieldDesc, store: Typestore) -> pa.DataType:
    import pyarrow as pa

    kind, detail = desc
    if kind == Nodetype.BASE:
        return getattr(pa, _ARROW_BASE[detail[0]])()
    if kind == Nodetype.NAME:
        fields = store.fielddefs[detail][1]
        return pa.struct([pa.field(name, _desc_type(sub, store)) for name, sub in fields])
    return pa.list_(_desc_type(detail[0], store))
