"""A table fed raw messages and decoded a batch at a time: columnar when the batch allows,
message by message with rosbags when it does not (see processor.columnar)."""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import Any

import numpy as np

from processor.bag import Decoder
from processor.budget import MESSAGE_OVERHEAD, Budget
from processor.columnar import ColumnarDecoder
from processor.errors import TopicDecodeError
from processor.flatten import Layout
from processor.tables import TableWriter, rows_per_batch

_MAX_BYTES = 8 << 20  # held per batch (its raw messages are joined once to be decoded)


@dataclass(frozen=True)
class DecodeFailure:
    """A message of a batch that does not match its definition."""

    log_time: int
    reason: str


class BatchedTable:
    """Buffers one table's raw messages against the run's budget; the messages that do not
    decode are kept in `failures` (and not written).

    Messages are copied into one growing buffer, their times and ends into typed arrays:
    no Python object per buffered message outlives `add`. (Held as objects, tens of
    thousands of small messages per table, freed table by table, fragment the heap:
    measured +78 MB of peak RSS with 64 topics against 8, the same bag, the same budget.)
    """

    def __init__(
        self, writer: TableWriter, layout: Layout, decoder: ColumnarDecoder, budget: Budget
    ) -> None:
        self.writer = writer
        self._layout = layout
        self._decoder = decoder
        self._budget = budget
        self._max_rows = rows_per_batch(len(layout.columns))  # as row batches are bounded
        self.held = 0
        """Bytes counted against the budget: the buffered messages and their bookkeeping."""
        self.failures: list[DecodeFailure] = []
        self._start()
        budget.register(self)

    def _start(self) -> None:
        self._data = bytearray()
        self._times = array("q")
        self._ends = array("Q")
        self._decoders: list[Decoder] = []
        self._length = -1  # every message's length while they are all alike, else -2

    def add(self, log_time: int, raw: Any, decode: Decoder) -> None:
        self._data += raw
        self._times.append(log_time)
        self._ends.append(len(self._data))
        self._decoders.append(decode)
        size = len(raw)
        if size != self._length:
            self._length = size if self._length == -1 else -2
        size += MESSAGE_OVERHEAD
        self.held += size
        budget = self._budget
        budget.held += size
        if len(self._times) >= self._max_rows or self.held >= _MAX_BYTES:
            self.write_out()
        elif budget.held > budget.limit:
            budget.relieve()

    def write_out(self) -> None:
        """Decode and write what is buffered; what does not decode goes to `failures`."""
        if not self._times:
            return
        data, times, ends, decoders, length = (
            self._data,
            self._times,
            self._ends,
            self._decoders,
            self._length,
        )
        self._start()
        self._budget.held -= self.held
        self.held = 0
        if length >= 0:
            columns = self._decoder.decode_uniform(data, len(times), length)
            if columns is not None:
                self.writer.write_columns(np.frombuffer(times, np.int64), columns)
                return
        rows = []
        view = memoryview(data)
        start = 0
        for log_time, end, decode in zip(times, ends, decoders, strict=True):
            try:
                rows.append(self._layout.row(decode(bytes(view[start:end])), log_time, None))
            except TopicDecodeError as err:
                self.failures.append(DecodeFailure(log_time, str(err)))
            start = end
        view.release()
        self.writer.write_rows(rows)
