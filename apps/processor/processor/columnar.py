"""Decode a batch of fixed-layout messages straight into Arrow columns.

High-rate sensor topics (IMU, GNSS fixes, poses, odometry) are most of a bag's messages,
and their types hold only numbers, fixed-size arrays and strings. When every message of
a batch has the same byte length and the same string lengths, every field sits at the
same offset in every message: one numpy view of the batch then gives each column at
once, without building a Python object per message and per field.

Faithful by construction, or not used: a batch is decoded here only when it passes every
check rosbags' own deserializer makes (lengths, string terminators, UTF-8); anything
else returns None and the caller decodes that batch message by message with rosbags,
which also produces the exact error. Values come out as rosbags reads them: the numpy
type of each field is taken from rosbags' own struct formats, strings are decoded with
Python's strict UTF-8 decoder, and tests compare the two paths column by column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from rosbags.interfaces import Nodetype
from rosbags.serde import primitives
from rosbags.typesys.store import Typestore

from processor.flatten import MAX_EXPANDED_ARRAY, TIME_COLUMNS, FieldDesc, Layout
from processor.ros1 import ros1_desc

_UNSUPPORTED_FIELD = "structure_needs_at_least_one_member"  # rosbags' empty-message filler


@dataclass(frozen=True)
class _Leaf:
    """One column's field: a little-endian number of `dtype`, or a string (`dtype` None)."""

    base: str
    dtype: np.dtype[Any] | None

    @property
    def size(self) -> int:
        """Bytes of the number, or of the string's length prefix."""
        return 4 if self.dtype is None else self.dtype.itemsize


def _leaf(base: str) -> _Leaf | None:
    """The leaf for a base type, typed as rosbags unpacks it; None if left to rosbags."""
    if base == "string":
        return _Leaf(base, None)
    if base == "bool":  # struct's '?' is true for any non-zero byte: read the byte, test it
        return _Leaf(base, np.dtype("u1"))
    unpack = getattr(primitives, f"unpack_{base}_le", None)  # none for wstring, float128
    return None if unpack is None else _Leaf(base, np.dtype(unpack.__self__.format))


class ColumnarDecoder:
    """Decodes batches of one message type (ROS 1 or CDR wire format) into Arrow arrays."""

    def __init__(self, leaves: list[_Leaf], types: list[pa.DataType], *, cdr: bool) -> None:
        self._leaves = leaves
        self._types = types
        self._cdr = cdr

    def decode(self, raws: Sequence[bytes | memoryview]) -> list[pa.Array] | None:
        """One Arrow array per column (after the time column), or None: use rosbags."""
        if not raws:
            return []
        length = len(raws[0])
        if any(len(raw) != length for raw in raws):
            return None
        return self.decode_uniform(b"".join(raws), len(raws), length)

    def decode_uniform(self, data: bytes | bytearray, count: int, length: int) -> Any:
        """`decode` for `count` messages of `length` bytes each, joined in `data`."""
        if count == 0:
            return []
        offsets = self._offsets(bytes(data[:length]))
        if offsets is None:
            return None
        block = np.frombuffer(data, np.uint8, count * length).reshape(count, length)
        if self._cdr and not (np.all(block[:, 0] == 0) and np.all(block[:, 1] == 1)):
            return None  # big-endian or unknown encapsulation: rosbags handles it
        arrays: list[pa.Array] = []
        for leaf, arrow_type, offset in zip(self._leaves, self._types, offsets, strict=True):
            if leaf.dtype is None:
                array = self._strings(block, offset)
                if array is None:
                    return None
                arrays.append(array)
            else:
                arrays.append(self._numbers(block, leaf, offset, arrow_type))
        return arrays

    def _offsets(self, first: bytes) -> list[int] | None:
        """Where each field starts in `first` (a string: its length prefix), or None if
        the message does not have the size its fields say."""
        start = 4 if self._cdr else 0  # CDR: offsets count from after the encapsulation header
        pos = 0
        offsets = []
        for leaf in self._leaves:
            size = leaf.size
            if self._cdr:
                pos = (pos + size - 1) & -size  # natural alignment, as rosbags aligns
            if start + pos + size > len(first):
                return None
            offsets.append(start + pos)
            if leaf.dtype is None:
                chars = int.from_bytes(first[start + pos : start + pos + 4], "little")
                if self._cdr and chars < 1:
                    return None
                size += chars
            pos += size
        end = start + pos
        if end > len(first):
            return None
        if self._cdr:
            return offsets if len(first) <= end + 3 else None  # rosbags allows 3 padding bytes
        return offsets if len(first) == end else None

    def _numbers(
        self, block: np.ndarray[Any, Any], leaf: _Leaf, offset: int, arrow_type: pa.DataType
    ) -> pa.Array:
        dtype = leaf.dtype
        assert dtype is not None
        values = np.ascontiguousarray(block[:, offset : offset + dtype.itemsize]).view(dtype)
        values = values.reshape(-1)
        if leaf.base == "bool":
            return pa.array(values != 0, type=arrow_type)
        return pa.array(values.astype(dtype.newbyteorder("="), copy=False), type=arrow_type)

    def _strings(self, block: np.ndarray[Any, Any], offset: int) -> pa.Array | None:
        chars = int.from_bytes(block[0, offset : offset + 4].tobytes(), "little")
        prefixes = np.ascontiguousarray(block[:, offset : offset + 4]).view("<u4").reshape(-1)
        if not np.all(prefixes == chars):
            return None  # strings of other lengths: fields move; rosbags handles it
        text = chars - 1 if self._cdr else chars  # CDR counts a terminating NUL
        if self._cdr and not np.all(block[:, offset + 4 + text] == 0):
            return None
        if text == 0:
            return pa.array([""] * len(block), type=pa.string())
        data = np.ascontiguousarray(block[:, offset + 4 : offset + 4 + text])
        unique, inverse = np.unique(data.view(f"V{text}").reshape(-1), return_inverse=True)
        try:
            decoded = [value.tobytes().decode() for value in unique]
        except UnicodeDecodeError:
            return None
        # Indexing in numpy, not Array.take: that would import pyarrow.compute (30 ms).
        return pa.array(np.array(decoded, dtype=object)[inverse.reshape(-1)], type=pa.string())


def columnar_decoder(
    layout: Layout, store: Typestore, types: Sequence[pa.DataType], *, cdr: bool
) -> ColumnarDecoder | None:
    """A batch decoder for `layout`'s type, or None if its fields do not have fixed offsets.

    `types` are the table's Arrow column types (the time columns first).
    """
    leaves: list[_Leaf] = []
    names: list[str] = []
    if not _walk(store, layout.msgtype, "", leaves, names, ros1=not cdr):
        return None
    if names != [column.path for column in layout.fields]:
        return None  # the table's columns are not these fields one by one
    if any(column.role != "value" for column in layout.fields):
        return None
    return ColumnarDecoder(leaves, list(types[len(TIME_COLUMNS) :]), cdr=cdr)


def _walk(
    store: Typestore,
    msgtype: str,
    prefix: str,
    leaves: list[_Leaf],
    names: list[str],
    *,
    ros1: bool,
) -> bool:
    """Collect the leaf fields of `msgtype` in column order; False if one has no fixed size."""
    fields: list[tuple[str, FieldDesc]] = list(store.fielddefs[msgtype][1])
    for name, desc in fields:
        wire = ros1_desc(msgtype, name, desc) if ros1 else desc
        if name == _UNSUPPORTED_FIELD or not _collect(
            store, wire, prefix + name, leaves, names, ros1=ros1
        ):
            return False
    return True


def _collect(
    store: Typestore,
    desc: FieldDesc,
    column: str,
    leaves: list[_Leaf],
    names: list[str],
    *,
    ros1: bool,
) -> bool:
    kind, detail = desc
    if kind == Nodetype.BASE:
        if (leaf := _leaf(detail[0])) is None:
            return False
        leaves.append(leaf)
        names.append(column)
        return True
    if kind == Nodetype.NAME:
        return _walk(store, detail, f"{column}.", leaves, names, ros1=ros1)
    if kind == Nodetype.ARRAY and detail[1] <= MAX_EXPANDED_ARRAY:
        element, length = detail
        return all(
            _collect(store, element, f"{column}.{index}", leaves, names, ros1=ros1)
            for index in range(length)
        )
    return False  # sequences and long arrays: variable size, or a list column
