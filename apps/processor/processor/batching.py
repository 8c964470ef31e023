"""A table fed raw messages and decoded a batch at a time: columnar when the batch allows,
message by message with rosbags when it does not (see processor.columnar)."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from processor.bag import Decoder
from processor.budget import MESSAGE_OVERHEAD, Budget
from processor.columnar import ColumnarDecoder
from processor.errors import TopicDecodeError
from processor.flatten import Layout
from processor.tables import TableWriter, rows_per_batch

_MAX_BYTES = 8 << 20  # held per batch (its raw messages are joined once to be decoded)
_LIST_ROWS = 1024
_MIN_GROUP = 16  # messages of one shape below which a group is not worth batching
_MAX_SHAPES = 4  # shapes tried per length in a batch (each joins what is left once more)


@dataclass(frozen=True)
class DecodeFailure:
    """A message of a batch that does not match its definition."""

    log_time: int
    reason: str


class BatchedTable:
    """Buffers one table's raw messages against the run's budget; the messages that do not
    decode are kept in `failures` (and not written).

    `decode` is the decoder of the connections `decoder` was built for: a batch of their
    messages that all have one length is decoded column-wise at once. A batch that mixes
    lengths (a /tf that several nodes publish with different frame lists) is decoded one
    group of equal lengths at a time, and the groups' columns are put back in log-time
    order; what no group can take (other definitions, a group whose shapes differ after
    all) is decoded message by message with rosbags.
    """

    def __init__(
        self,
        writer: TableWriter,
        layout: Layout,
        decoder: ColumnarDecoder,
        budget: Budget,
        decode: Decoder,
    ) -> None:
        self.writer = writer
        self._layout = layout
        self._decoder = decoder
        self._primary = decode
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
        before it (then the batch is decoded by groups): keep every decoder."""
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
            assert decode is not None
            if decode is self._primary:
                columns = self._decoder.decode_uniform(b"".join(raws), len(raws), length)
                if columns is not None:
                    self.writer.write_columns(times, columns)
                    return
            decoders = [decode] * len(raws)
            self.writer.write_rows(self._rows(raws, times, decoders, range(len(raws)))[0])
            return
        self._write_groups(raws, times, decoders)

    def _write_groups(self, raws: list[Any], times: list[int], decoders: list[Decoder]) -> None:
        """A batch of mixed lengths or decoders: column-wise by groups of one length."""
        groups: dict[int, list[int]] = {}
        rest: list[int] = []
        primary = self._primary
        for index, (raw, decode) in enumerate(zip(raws, decoders, strict=True)):
            if decode is primary:
                groups.setdefault(len(raw), []).append(index)
            else:
                rest.append(index)
        pieces: list[tuple[list[int], list[pa.Array]]] = []
        for length, indexes in groups.items():
            rest.extend(self._decode_shapes(raws, indexes, length, pieces))
        rest.sort()
        rows, kept = self._rows(raws, times, decoders, rest)
        if not pieces:
            self.writer.write_rows(rows)
            return
        if rows:
            pieces.append((kept, self.writer.row_columns(rows)[1:]))  # less the time column
        order = np.concatenate([np.asarray(indexes, dtype=np.int64) for indexes, _ in pieces])
        back = pa.array(np.argsort(order, kind="stable"))  # each row's place in log-time order
        columns = [
            _take(pa.concat_arrays([piece[number] for _, piece in pieces]), back)
            for number in range(len(pieces[0][1]))
        ]
        self.writer.write_columns(np.asarray(times, dtype=np.int64)[np.sort(order)], columns)

    def _decode_shapes(
        self,
        raws: list[Any],
        indexes: list[int],
        length: int,
        pieces: list[tuple[list[int], list[pa.Array]]],
    ) -> list[int]:
        """Decode the messages at `indexes` (all `length` bytes long) column-wise into
        `pieces`, one shape at a time (the same length with other string lengths: frames
        named otherwise); returns the indexes left to rosbags."""
        decoder = self._decoder
        left: list[int] = []
        for _ in range(_MAX_SHAPES):
            if len(indexes) < _MIN_GROUP:
                break
            data = b"".join([raws[index] for index in indexes])
            same = decoder.same_shape(data, len(indexes), length)
            if same is None:  # the first message is not what its fields say: rosbags tells
                left.append(indexes[0])
                indexes = indexes[1:]
                continue
            keep = same.tolist()
            alike = [index for index, kept in zip(indexes, keep, strict=True) if kept]
            indexes = [index for index, kept in zip(indexes, keep, strict=True) if not kept]
            if len(alike) < _MIN_GROUP:
                left.extend(alike)
                continue
            if indexes:
                data = b"".join([raws[index] for index in alike])
            columns = decoder.decode_uniform(data, len(alike), length)
            if columns is None:
                left.extend(alike)
            else:
                pieces.append((alike, columns))
        return left + indexes

    def _rows(
        self, raws: list[Any], times: list[int], decoders: list[Decoder], indexes: Iterable[int]
    ) -> tuple[list[tuple[Any, ...]], list[int]]:
        """The rows of the messages at `indexes`, decoded one by one, and their indexes."""
        rows, kept = [], []
        row = self._layout.row
        for index in indexes:
            log_time = times[index]
            try:
                rows.append(row(decoders[index](raws[index]), log_time, None))
            except TopicDecodeError as err:
                self.failures.append(DecodeFailure(log_time, str(err)))
            else:
                kept.append(index)
        return rows, kept


def _take(array: pa.Array, indexes: pa.Array) -> pa.Array:
    # pyarrow._compute is what pyarrow.compute re-exports, without building a Python
    # wrapper for every kernel (30 ms of start-up: processor.csvtext); imported when needed.
    compute: Any = importlib.import_module("pyarrow._compute")
    return compute.call_function("take", [array, indexes])
