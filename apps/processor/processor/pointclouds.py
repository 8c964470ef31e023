"""Point clouds as per-message point tables: Parquet (one row per point) or binary PCD.

`sensor_msgs/PointCloud2` describes its points by a list of fields (name, offset, datatype,
count) inside a record of `point_step` bytes, `width` records to a row of `row_step` bytes
(padding at the row's end), `height` rows (an organized cloud) and a byte order. One numpy
structured dtype built from the fields views the payload in place: no Python per point.
`sensor_msgs/PointCloud` (ROS 1, and kept in ROS 2) holds `Point32` points and float32
channels, one value per point.

Field names come from the bag and are untrusted: they become column names by
`processor.names.point_field_name` (escaped, bounded) and are made unique like the table's
own columns (`flatten.unique_names`). A cloud whose descriptor cannot be read faithfully
(an unknown datatype, fields overlapping or past `point_step`, data not `row_step` x
`height` bytes...) is kept exactly as its bytes, with a note saying why
(docs/processor.md, "Point clouds").
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from processor.flatten import MAX_COLUMNS, Column, unique_names
from processor.names import point_field_name
from processor.plain import json_safe

SUFFIX = {"parquet": ".parquet", "pcd": ".pcd"}
KEPT_AS_BIN = "point clouds kept as .bin, exactly their bytes: "
KEPT_AS_JSON = "point clouds kept as JSON (points and channels as recorded): "
PADDING = "_"
"""PCL's name for padding fields (pcl/io/pcd_io: fields named `_` are skipped)."""

# sensor_msgs/PointField datatypes (PointField.msg constants INT8=1 ... FLOAT64=8): numpy
# type code and PCD TYPE letter (PCD v0.7: I signed, U unsigned, F floating point).
DATATYPES: dict[int, tuple[str, str]] = {
    1: ("i1", "I"),
    2: ("u1", "U"),
    3: ("i2", "I"),
    4: ("u2", "U"),
    5: ("i4", "I"),
    6: ("u4", "U"),
    7: ("f4", "F"),
    8: ("f8", "F"),
}
_LAYOUT_CACHE = 64  # distinct descriptors kept per topic; a hostile bag may vary them


@dataclass(frozen=True)
class PointField:
    """One field of the points: its unique name, numpy type (native order), element count."""

    name: str
    dtype: np.dtype[Any]
    count: int
    pcd_type: str


@dataclass(frozen=True)
class PointLayout:
    """How one descriptor's points are read (`view`) and named as columns."""

    view: np.dtype[Any] | None
    """The payload's record: the fields at their offsets, `point_step` bytes, its byte order."""
    fields: tuple[PointField, ...]
    columns: tuple[tuple[str, str, int | None], ...]
    """Per Parquet column: its name, its field's name, and the element (count > 1) or None."""


def _unique(paths: Sequence[str], separator: str) -> list[str]:
    columns = [Column(path, "value", None, path) for path in paths]
    return [c.name for c in unique_names(columns, taken=set(), separator=separator)]


def _column_names(
    fields: Sequence[PointField], separator: str
) -> list[tuple[str, str, int | None]]:
    """One column per element: `x`, and `normal.0` .. `normal.2` for a count of 3 (joined by
    `separator`, as the table's own fixed-size arrays are)."""
    paths: list[str] = []
    sources: list[tuple[str, int | None]] = []
    for field in fields:
        if field.count == 1:
            paths.append(field.name)
            sources.append((field.name, None))
        else:
            paths.extend(f"{field.name}.{i}" for i in range(field.count))
            sources.extend((field.name, i) for i in range(field.count))
    names = _unique(paths, separator)
    return [(name, *source) for name, source in zip(names, sources, strict=True)]


def cloud2_layout(
    descriptor: Sequence[tuple[str, int, int, int]],
    point_step: int,
    big_endian: bool,
    separator: str,
) -> PointLayout | str:
    """The layout of points described by `descriptor` ((name, offset, datatype, count) per
    field), or why they cannot be read faithfully."""
    kept = [field for field in descriptor if field[0] != PADDING]
    if not kept:
        return "no fields describe the points"
    order = ">" if big_endian else "<"
    names = _unique([point_field_name(name) for name, *_ in kept], ".")
    spans: list[tuple[int, int]] = []
    fields: list[PointField] = []
    formats: list[Any] = []
    for name, (_, offset, datatype, count) in zip(names, kept, strict=True):
        if datatype not in DATATYPES:
            return f"a field's datatype is {datatype}, not one of 1-8 (INT8..FLOAT64)"
        if count < 1:
            return "a field's count is 0"
        code, pcd_type = DATATYPES[datatype]
        dtype = np.dtype(code)
        end = offset + dtype.itemsize * count
        if end > point_step:
            return "a field ends past point_step"
        spans.append((offset, end))
        fields.append(PointField(name, dtype, count, pcd_type))
        formats.append(np.dtype(order + code) if count == 1 else (np.dtype(order + code), (count,)))
    if sum(field.count for field in fields) > MAX_COLUMNS:  # a table's own bound, for both
        return f"the fields have more than {MAX_COLUMNS} elements (columns)"
    spans.sort()
    if any(start < previous_end for (_, previous_end), (start, _) in itertools.pairwise(spans)):
        return "fields overlap"
    view = np.dtype(
        {
            "names": names,
            "formats": formats,
            "offsets": [offset for _, offset, _, _ in kept],
            "itemsize": point_step,
        }
    )
    return PointLayout(view, tuple(fields), tuple(_column_names(fields, separator)))


@dataclass(frozen=True)
class Points:
    """One cloud's points, field by field, in native byte order: (n,) or (n, count) arrays."""

    layout: PointLayout
    values: dict[str, np.ndarray[Any, Any]]
    width: int
    height: int

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.values.values())


class CloudReader:
    """Reads the points of one topic's clouds, one layout per distinct descriptor."""

    def __init__(self, separator: str) -> None:
        self.separator = separator
        self._layouts: dict[Any, PointLayout | str] = {}

    def cloud2(self, message: Any) -> Points | str:
        """The points of a PointCloud2, or why they cannot be read as its descriptor says."""
        descriptor = tuple((f.name, f.offset, f.datatype, f.count) for f in message.fields)
        height, width = message.height, message.width
        point_step, row_step = message.point_step, message.row_step
        # Sizes first: then the record is never larger than the payload.
        if row_step < width * point_step:
            return "row_step is less than width x point_step"
        data = message.data
        if len(data) != row_step * height:
            return "data is not row_step x height bytes"
        key = (descriptor, point_step, bool(message.is_bigendian))
        layout = self._layouts.get(key)
        if layout is None:
            if len(self._layouts) >= _LAYOUT_CACHE:
                self._layouts.clear()
            layout = cloud2_layout(descriptor, point_step, key[2], self.separator)
            self._layouts[key] = layout
        if isinstance(layout, str):
            return layout
        assert layout.view is not None
        view = np.ndarray((height, width), layout.view, buffer=data, strides=(row_step, point_step))
        count = height * width
        values: dict[str, np.ndarray[Any, Any]] = {}
        for field in layout.fields:
            shape = (count,) if field.count == 1 else (count, field.count)
            # A copy in native order, whatever the padding and byte order of the payload.
            values[field.name] = view[field.name].astype(field.dtype).reshape(shape)
        return Points(layout, values, width, height)

    def cloud(self, message: Any) -> Points | str:
        """The points of a PointCloud (x, y, z, then a column per channel), or why not."""
        points = message.points
        count = len(points)
        xyz = np.array([(p.x, p.y, p.z) for p in points], dtype=np.float32).reshape(count, 3)
        channels = list(message.channels)
        if any(len(channel.values) != count for channel in channels):
            return "a channel does not hold one value per point"
        float32 = np.dtype(np.float32)
        names = _unique(
            ["x", "y", "z", *(point_field_name(channel.name) for channel in channels)], "."
        )
        fields = tuple(PointField(name, float32, 1, "F") for name in names)
        columns = tuple((name, name, None) for name in names)
        values = {name: np.ascontiguousarray(xyz[:, axis]) for axis, name in enumerate(names[:3])}
        for name, channel in zip(names[3:], channels, strict=True):
            values[name] = np.asarray(channel.values, dtype=np.float32)
        return Points(PointLayout(None, fields, columns), values, count, 1)


def cloud_as_json(message: Any) -> bytes:
    """A PointCloud whose channels do not match its points, exactly as recorded (float32
    values are exact as JSON doubles; NaN, which marks an invalid point, and infinities
    spelled as in list cells: processor.plain.json_safe)."""
    document = {
        "points": [[float(p.x), float(p.y), float(p.z)] for p in message.points],
        "channels": [
            {"name": channel.name, "values": [float(v) for v in channel.values]}
            for channel in message.channels
        ],
    }
    return json.dumps(json_safe(document), allow_nan=False, default=str).encode("utf-8")


def points_table(points: Points) -> pa.Table:
    """One row per point (an organized cloud row by row), one column per field element; the
    cloud's width and height in the schema's metadata."""
    arrays = []
    for _, field, element in points.layout.columns:
        values = points.values[field]
        arrays.append(pa.array(values if element is None else values[:, element]))
    names = [name for name, _, _ in points.layout.columns]
    metadata = {"width": str(points.width), "height": str(points.height)}
    return pa.Table.from_arrays(arrays, names=names, metadata=metadata)


def write_parquet(path: Path, table: pa.Table) -> None:
    import pyarrow.parquet as pq  # only point-cloud runs pay for importing it here

    # No dictionary pages: point values are nearly all distinct, so pyarrow's attempt at a
    # dictionary only costs time (measured: 7.7 ms a 28 800-point cloud with it, 2.0 ms
    # without, and 801 KB against 533 KB).
    pq.write_table(table, path, compression="zstd", use_dictionary=False)


def pcd_bytes(points: Points) -> tuple[bytes, np.ndarray[Any, Any]]:
    """A binary PCD v0.7 file (https://pointclouds.org/documentation/tutorials/pcd_file_format.html):
    its header, and its points packed field after field, little-endian, without padding."""
    fields = points.layout.fields
    count = points.width * points.height
    packed = np.empty(
        count,
        np.dtype(
            [
                (f.name, f.dtype.newbyteorder("<"), (f.count,))
                if f.count > 1
                else (f.name, f.dtype.newbyteorder("<"))
                for f in fields
            ]
        ),
    )
    for field in fields:
        packed[field.name] = points.values[field.name]
    header = "".join(
        [
            "# .PCD v0.7 - Point Cloud Data file format\n",
            "VERSION 0.7\n",
            "FIELDS " + " ".join(f.name for f in fields) + "\n",
            "SIZE " + " ".join(str(f.dtype.itemsize) for f in fields) + "\n",
            "TYPE " + " ".join(f.pcd_type for f in fields) + "\n",
            "COUNT " + " ".join(str(f.count) for f in fields) + "\n",
            f"WIDTH {points.width}\n",
            f"HEIGHT {points.height}\n",
            "VIEWPOINT 0 0 0 1 0 0 0\n",
            f"POINTS {count}\n",
            "DATA binary\n",
        ]
    )
    return header.encode("ascii"), packed.view(np.uint8)


def write_pcd(path: Path, header: bytes, data: Any) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        for part in (memoryview(header), memoryview(data).cast("B")):
            while part:
                part = part[os.write(fd, part) :]
    finally:
        os.close(fd)
