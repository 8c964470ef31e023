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

Variable-length fields (a /tf message's sequence of transforms, a scan's ranges) are
batched the same way when every message of the batch has the same shape: the offsets
are read from the first message, and the batch is decoded only if every other message
has the same length and the same sequence counts and string lengths at those offsets
(then by induction every field sits at the same offset in every message). Such a list
column becomes Arrow list arrays for Parquet, and for CSV the JSON text
processor.plain writes: the same keys, `repr` of each float (as `json.dumps` writes
it), and batches with a non-finite float go to rosbags, whose path spells them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
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


@dataclass(frozen=True)
class _Sequence:
    """A list column: a sequence of numbers, strings, or messages made of those only."""

    leaves: tuple[_Leaf, ...]
    paths: tuple[str, ...]
    """Each leaf's dotted field path inside an element ('' for an element that is a leaf)."""
    maximum: int
    """The typestore's longest sequence: a longer count is rosbags' error to report."""


_COUNT = _Leaf("uint32", np.dtype("<u4"))
_Item = _Leaf | _Sequence
_Place = int | tuple[int, list[list[int]]]
"""Where an item is in every message: a leaf's offset, or a sequence's count offset and
each element's leaf offsets."""


class ColumnarDecoder:
    """Decodes batches of one message type (ROS 1 or CDR wire format) into Arrow arrays."""

    def __init__(self, items: list[_Item], types: list[pa.DataType], *, cdr: bool) -> None:
        self._items = items
        self._types = types
        self._cdr = cdr
        self.has_lists = any(isinstance(item, _Sequence) for item in items)
        """Some columns are lists (each cell long: JSON text in CSV)."""

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
        places = self._offsets(bytes(data[:length]))
        if places is None:
            return None
        block = np.frombuffer(data, np.uint8, count * length).reshape(count, length)
        if self._cdr and not (np.all(block[:, 0] == 0) and np.all(block[:, 1] == 1)):
            return None  # big-endian or unknown encapsulation: rosbags handles it
        arrays: list[pa.Array] = []
        for item, arrow_type, place in zip(self._items, self._types, places, strict=True):
            if isinstance(item, _Sequence):
                assert isinstance(place, tuple)
                array = self._sequence(block, item, place, arrow_type)
            elif item.dtype is None:
                assert isinstance(place, int)
                strings = self._strings(block, place, str)
                array = None if strings is None else pa.array(strings, type=pa.string())
            else:
                assert isinstance(place, int)
                array = pa.array(self._numbers(block, item, [place]).reshape(-1), type=arrow_type)
            if array is None:
                return None
            arrays.append(array)
        return arrays

    def same_shape(self, data: bytes | bytearray, count: int, length: int) -> Any:
        """Which of `count` messages of `length` bytes (joined in `data`) have the first
        one's shape: its sequence counts and string lengths at its offsets (then, by
        induction, every field at its offset). A numpy mask, or None if the first message
        does not have the size its fields say."""
        places = self._offsets(bytes(data[:length]))
        if places is None:
            return None
        prefixes: list[int] = []
        for item, place in zip(self._items, places, strict=True):
            if isinstance(item, _Sequence):
                assert isinstance(place, tuple)
                counted, offsets = place
                prefixes.append(counted)
                strings = [i for i, leaf in enumerate(item.leaves) if leaf.dtype is None]
                prefixes.extend(element[i] for element in offsets for i in strings)
            elif item.dtype is None:
                assert isinstance(place, int)
                prefixes.append(place)
        if not prefixes:
            return np.ones(count, dtype=bool)
        block = np.frombuffer(data, np.uint8, count * length).reshape(count, length)
        at = np.asarray(prefixes, dtype=np.intp)[:, None] + np.arange(4)
        values = np.ascontiguousarray(block[:, at]).view("<u4").reshape(count, len(prefixes))
        return np.all(values == values[0], axis=1)

    def _offsets(self, first: bytes) -> list[_Place] | None:
        """Where each item starts in `first` (a string: its length prefix), or None if
        the message does not have the size its fields say."""
        start = 4 if self._cdr else 0  # CDR: offsets count from after the encapsulation header
        cursor = [start, 0]  # where positions count from, and the position
        places: list[_Place] = []
        for item in self._items:
            if isinstance(item, _Leaf):
                offset = self._place(first, cursor, item)
                if offset is None:
                    return None
                places.append(offset)
                continue
            counted = self._place(first, cursor, _COUNT)
            if counted is None:
                return None
            elements = int.from_bytes(first[counted : counted + 4], "little")
            if elements > item.maximum or elements > len(first):  # each takes a byte at least
                return None
            offsets = []
            for _ in range(elements):
                element = [self._place(first, cursor, leaf) for leaf in item.leaves]
                if None in element:
                    return None
                offsets.append([offset for offset in element if offset is not None])
            places.append((counted, offsets))
        end = start + cursor[1]
        if self._cdr:
            return places if len(first) <= end + 3 else None  # rosbags allows 3 padding bytes
        return places if len(first) == end else None

    def _place(self, first: bytes, cursor: list[int], leaf: _Leaf) -> int | None:
        """The offset of `leaf` at the cursor (moved past it), or None past the end."""
        start, pos = cursor
        size = leaf.size
        if self._cdr:
            pos = (pos + size - 1) & -size  # natural alignment, as rosbags aligns
        if start + pos + size > len(first):
            return None
        if leaf.dtype is None:
            chars = int.from_bytes(first[start + pos : start + pos + 4], "little")
            if self._cdr and chars < 1:
                return None
            size += chars
        cursor[1] = pos + size
        return start + pos

    def _numbers(
        self, block: np.ndarray[Any, Any], leaf: _Leaf, offsets: list[int]
    ) -> np.ndarray[Any, Any]:
        """The leaf's values at `offsets` of every message: one row per message."""
        dtype = leaf.dtype
        assert dtype is not None
        at = np.asarray(offsets, dtype=np.intp)[:, None] + np.arange(dtype.itemsize)
        values = np.ascontiguousarray(block[:, at]).view(dtype).reshape(len(block), len(offsets))
        if leaf.base == "bool":
            return values != 0
        return values.astype(dtype.newbyteorder("="), copy=False)

    def _strings(
        self, block: np.ndarray[Any, Any], offset: int, encode: Any
    ) -> np.ndarray[Any, Any] | None:
        """The string at `offset` of every message, each passed through `encode`."""
        chars = int.from_bytes(block[0, offset : offset + 4].tobytes(), "little")
        prefixes = np.ascontiguousarray(block[:, offset : offset + 4]).view("<u4").reshape(-1)
        if not np.all(prefixes == chars):
            return None  # strings of other lengths: fields move; rosbags handles it
        text = chars - 1 if self._cdr else chars  # CDR counts a terminating NUL
        if self._cdr and not np.all(block[:, offset + 4 + text] == 0):
            return None
        if text == 0:
            return np.full(len(block), encode(""), dtype=object)
        data = np.ascontiguousarray(block[:, offset + 4 : offset + 4 + text])
        unique, inverse = np.unique(data.view(f"V{text}").reshape(-1), return_inverse=True)
        try:
            decoded = [encode(value.tobytes().decode()) for value in unique]
        except UnicodeDecodeError:
            return None
        # Indexing in numpy, not Array.take: that would import pyarrow.compute (30 ms).
        return np.array(decoded, dtype=object)[inverse.reshape(-1)]

    def _string_columns(
        self, block: np.ndarray[Any, Any], offsets: list[int], encode: Any
    ) -> np.ndarray[Any, Any] | None:
        """The strings at `offsets` of every message: one row per message."""
        columns = []
        for offset in offsets:
            strings = self._strings(block, offset, encode)
            if strings is None:
                return None
            columns.append(strings)
        if not columns:
            return np.empty((len(block), 0), dtype=object)
        return np.stack(columns, axis=1)

    def _sequence(
        self,
        block: np.ndarray[Any, Any],
        item: _Sequence,
        place: tuple[int, list[list[int]]],
        arrow_type: pa.DataType,
    ) -> pa.Array | None:
        """A list column: Arrow lists, or (a string column) the JSON text of each list."""
        counted, offsets = place
        counts = np.ascontiguousarray(block[:, counted : counted + 4]).view("<u4").reshape(-1)
        if not np.all(counts == len(offsets)):
            return None  # other counts: fields move; rosbags handles it
        as_json = pa.types.is_string(arrow_type)
        columns = []  # per leaf, its values: one row per message, one column per element
        for index, leaf in enumerate(item.leaves):
            where = [element[index] for element in offsets]
            if leaf.dtype is not None:
                values = self._numbers(block, leaf, where)
                if as_json and values.dtype.kind == "f" and not np.all(np.isfinite(values)):
                    return None
                columns.append(values)
                continue
            texts = self._string_columns(block, where, json.dumps if as_json else str)
            if texts is None:
                return None
            columns.append(texts)
        if as_json:
            from processor.jsontext import json_lists  # CSV only: Parquet runs need none of it

            return json_lists(item.paths, columns, len(block))
        flat = iter([values.reshape(-1) for values in columns])
        elements = _assemble(arrow_type.value_type, flat)
        bounds = np.arange(len(block) + 1, dtype=np.int32) * len(offsets)
        return pa.ListArray.from_arrays(pa.array(bounds), elements, type=arrow_type)


def _assemble(arrow_type: pa.DataType, leaves: Iterator[np.ndarray[Any, Any]]) -> pa.Array:
    """An element array of `arrow_type` from its leaves' values, in field order."""
    if not pa.types.is_struct(arrow_type):
        return pa.array(next(leaves), type=arrow_type)
    fields = list(arrow_type)
    children = [_assemble(field.type, leaves) for field in fields]
    return pa.StructArray.from_arrays(children, fields=fields)


def columnar_decoder(
    layout: Layout, store: Typestore, types: Sequence[pa.DataType], *, cdr: bool
) -> ColumnarDecoder | None:
    """A batch decoder for `layout`'s type, or None if its fields do not have fixed offsets.

    `types` are the table's Arrow column types (the time columns first).
    """
    items: list[_Item] = []
    names: list[str] = []
    if not _walk(store, layout.msgtype, "", items, names, ros1=not cdr):
        return None
    if names != [column.path for column in layout.fields]:
        return None  # the table's columns are not these fields one by one
    for column, item in zip(layout.fields, items, strict=True):
        if column.role != ("list" if isinstance(item, _Sequence) else "value"):
            return None
    return ColumnarDecoder(items, list(types[len(TIME_COLUMNS) :]), cdr=cdr)


def _walk(
    store: Typestore,
    msgtype: str,
    prefix: str,
    items: list[_Item],
    names: list[str],
    *,
    ros1: bool,
    in_sequence: bool = False,
) -> bool:
    """Collect the items of `msgtype` in column order; False if one cannot be batched."""
    fields: list[tuple[str, FieldDesc]] = list(store.fielddefs[msgtype][1])
    for name, desc in fields:
        wire = ros1_desc(msgtype, name, desc) if ros1 else desc
        if name == _UNSUPPORTED_FIELD or not _collect(
            store, wire, prefix + name, items, names, ros1=ros1, in_sequence=in_sequence
        ):
            return False
    return True


def _collect(
    store: Typestore,
    desc: FieldDesc,
    column: str,
    items: list[_Item],
    names: list[str],
    *,
    ros1: bool,
    in_sequence: bool,
) -> bool:
    kind, detail = desc
    if kind == Nodetype.BASE:
        if (leaf := _leaf(detail[0])) is None:
            return False
        items.append(leaf)
        names.append(column)
        return True
    if kind == Nodetype.NAME:
        return _walk(store, detail, f"{column}.", items, names, ros1=ros1, in_sequence=in_sequence)
    if in_sequence:
        return False  # arrays inside a sequence's elements: left to rosbags
    if kind == Nodetype.ARRAY and detail[1] <= MAX_EXPANDED_ARRAY:
        element, length = detail
        return all(
            _collect(
                store, element, f"{column}.{index}", items, names, ros1=ros1, in_sequence=False
            )
            for index in range(length)
        )
    if kind == Nodetype.SEQUENCE and (sequence := _sequence(store, detail[0], ros1=ros1)):
        items.append(sequence)
        names.append(column)
        return True
    return False  # long fixed arrays: a list column


def _sequence(store: Typestore, element: FieldDesc, *, ros1: bool) -> _Sequence | None:
    """The items of a sequence's element, if they are leaves only."""
    leaves: list[_Item] = []
    paths: list[str] = []
    if not _collect(store, element, "", leaves, paths, ros1=ros1, in_sequence=True):
        return None
    if not leaves:
        return None
    typed = [leaf for leaf in leaves if isinstance(leaf, _Leaf)]
    maximum = getattr(store, "max_sequence_length", 2**32 - 1)
    return _Sequence(tuple(typed), tuple(path.removeprefix(".") for path in paths), maximum)
