"""A table fed raw messages and decoded a batch at a time: columnar when the batch allows,
message by message with rosbags when it does not (see processor.columnar)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from processor.bag import Decoder
from processor.budget import MESSAGE_OVERHEAD, Budget
from processor.columnar import ColumnarDecoder
from processor.errors import TopicDecodeError
from processor.flatten import Layout
from processor.tables import TableWriter, rows_per_batch

_MAX_BYTES = 8 << 20  # held per batch (its raw messages are joined once to be decoded)
_LIST_ROWS = 1024


@dataclass(frozen=True)
class DecodeFailure:
    """A message of a batch that does not match its definition."""

    log_time: int
    reason: str


class BatchedTable:
    """Buffers one table's raw messages against the run's budget; the messages that do not
    decode are kept in `failures` (and not written)."""

    def __init__(
        self, writer: TableWriter, layout: Layout, decoder: ColumnarDecoder, budget: Budget
    ) -> None:
        self.writer = writer
        self._layout = layout
        self._decoder = decoder
        self._budget = budget
        self._max_rows = rows_per_batch(len(layout.columns))  # as row batches are bounded
        if decoder.has_lists:
            # A list column's cells are long (a /tf row is 1.1 kB of JSON): row batches of
            # such tables are bounded by their values (tables._batch_rows) to about a
            # thousand rows. 8 192 /tf rows cost 60 MB more peak RSS (bench-processor).
            self._max_rows = min(self._max_rows, _LIST_ROWS)
        self.held = 0
        """Bytes counted against the budget: the buffered messages and their objects."""
        self.failures: list[DecodeFailure] = []
        self._start()
        budget.register(self)

    def _start(self) -> None:
        self._raws: list[Any] = []
        self._times: list[int] = []
        self._length = -1  # the length of every message so far, while they are all alike
        self._decode: Decoder | None = None  # and their decoder (connections of one table)
        self._decoders: list[Decoder] | None = None  # each message's, once they differ

    def add(self, log_time: int, raw: Any, decode: Decoder) -> None:
        self._raws.append(raw)
        self._times.append(log_time)
        size = len(raw)
        if self._decoders is not None:
            self._decoders.append(decode)
        elif size != self._length or decode is not self._decode:
            self._irregular(size, decode)
        size += MESSAGE_OVERHEAD
        self.held += size
        budget = self._budget
        budget.held += size
        if len(self._times) >= self._max_rows or self.held >= _MAX_BYTES:
            self.write_out()
        elif budget.held > budget.limit:
            budget.relieve()

    def _irregular(self, size: int, decode: Decoder) -> None:
        """The first message, or the first that differs in length or decoder from those
        before it (then the batch cannot be decoded column-wise): keep every decoder."""
        if len(self._times) == 1:
            self._length, self._decode = size, decode
            return
        assert self._decode is not None
        self._decoders = [self._decode] * (len(self._times) - 1) + [decode]
        self._length = -2

    def write_out(self) -> None:
        """Decode and write what is buffered; what does not decode goes to `failures`."""
        if not self._times:
            return
        raws, times, length, decode = self._raws, self._times, self._length, self._decode
        decoders = self._decoders
        self._start()
        self._budget.held -= self.held
        self.held = 0
        if decoders is None:
            columns = self._decoder.decode_uniform(b"".join(raws), len(raws), length)
            if columns is not None:
                self.writer.write_columns(times, columns)
                return
            assert decode is not None
            decoders = [decode] * len(raws)
        rows = []
        for log_time, raw, decoder in zip(times, raws, decoders, strict=True):
            try:
                rows.append(self._layout.row(decoder(raw), log_time, None))
            except TopicDecodeError as err:
                self.failures.append(DecodeFailure(log_time, str(err)))
        self.writer.write_rows(rows)
