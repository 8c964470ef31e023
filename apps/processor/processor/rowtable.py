"""A table of fixed columns the processor derives itself (the TF transforms, a camera's frame
index), written like the per-topic tables: CSV text by processor.csvtext, Parquet by pyarrow,
batches formatted and written on the background writer, so memory stays bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from processor.background import BackgroundWriter

LOG_TIME_COLUMNS = (
    pa.field("log_time_ns", pa.int64()),
    pa.field("log_time", pa.timestamp("ns", tz="UTC")),
)
_BATCH_ROWS = 8_192


class RowTable:
    """Rows of `schema` without its `log_time` column (filled from `log_time_ns`)."""

    def __init__(
        self, fmt: str, path: Path, schema: pa.Schema, background: BackgroundWriter
    ) -> None:
        if schema.names[:2] != ["log_time_ns", "log_time"]:
            raise ValueError("a row table starts with log_time_ns and log_time")
        self.schema = schema
        self.rows = 0
        self._background = background
        self._pending: list[tuple[Any, ...]] = []
        self._writer: Any
        if fmt == "csv":
            from processor.csvtext import CsvWriter  # only here: Parquet runs need none of it

            self._writer = CsvWriter(path, schema)
        else:
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(path, schema, compression="zstd")

    def add(self, row: tuple[Any, ...]) -> None:
        self._pending.append(row)
        self.rows += 1
        if len(self._pending) >= _BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        columns = list(zip(*self._pending, strict=True))
        self._pending = []
        times = pa.array(columns[0], type=pa.int64())
        arrays = [times, times.view(self.schema.field(1).type)]
        arrays += [
            pa.array(values, type=field.type)
            for values, field in zip(columns[1:], list(self.schema)[2:], strict=True)
        ]
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self._background.submit(self._writer.write_table, table, size=table.nbytes)

    def close(self) -> None:
        """Write what is buffered and close the file once the background writer has."""
        try:
            self._flush()
            self._background.drain()
        finally:
            self._writer.close()
