"""A table fed raw messages and decoded a batch at a time: columnar when the batch allows,
message by message with rosbags when it does not (see processor.columnar)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from processor.bag import Decoder
from processor.columnar import ColumnarDecoder
from processor.errors import TopicDecodeError
from processor.flatten import Layout
from processor.tables import TableWriter, rows_per_batch

_MAX_BYTES = 8 << 20  # raw messages held (and joined once) per batch


@dataclass(frozen=True)
class DecodeFailure:
    """A message of a batch that does not match its definition."""

    log_time: int
    reason: str


class BatchedTable:
    """Buffers one table's raw messages; `add` and `flush` return the bad ones (not written)."""

    def __init__(self, writer: TableWriter, layout: Layout, decoder: ColumnarDecoder) -> None:
        self.writer = writer
        self._layout = layout
        self._decoder = decoder
        self._max_rows = rows_per_batch(len(layout.columns))  # as row batches are bounded
        self._times: list[int] = []
        self._raws: list[Any] = []
        self._decoders: list[Decoder] = []
        self._bytes = 0

    def add(self, log_time: int, raw: Any, decode: Decoder) -> list[DecodeFailure] | None:
        self._times.append(log_time)
        self._raws.append(raw)
        self._decoders.append(decode)
        self._bytes += len(raw)
        if len(self._times) >= self._max_rows or self._bytes >= _MAX_BYTES:
            return self.flush()
        return None

    def flush(self) -> list[DecodeFailure]:
        """Decode and write what is buffered; the messages that do not decode are returned."""
        if not self._times:
            return []
        try:
            columns = self._decoder.decode(self._raws)
            if columns is not None:
                self.writer.write_columns(self._times, columns)
                return []
            rows, failures = [], []
            for log_time, raw, decode in zip(self._times, self._raws, self._decoders, strict=True):
                try:
                    rows.append(self._layout.row(decode(raw), log_time, None))
                except TopicDecodeError as err:
                    failures.append(DecodeFailure(log_time, str(err)))
            self.writer.write_rows(rows)
            return failures
        finally:
            self._times, self._raws, self._decoders, self._bytes = [], [], [], 0
