"""Flatten a message type into table columns, once per type, as a compiled row function.

Rules (docs/processor.md):
- nested messages become dotted columns: ``header.stamp.sec``;
- fixed-size arrays of up to 64 elements become one column per element:
  ``orientation_covariance.0`` ... ``orientation_covariance.8`` (a numeric one stays one
  numpy array in the row, and the table writer splits it into columns in bulk);
- variable-length (and longer fixed) arrays become one list column: JSON text in CSV,
  a list column in Parquet;
- a variable-length byte array named ``data`` is a payload, never inlined: camera frames
  (sensor_msgs CompressedImage, Image) become image files, point clouds (PointCloud2's
  ``data``, PointCloud's ``points`` and ``channels``) point tables or PCD files
  (processor.pointclouds), others ``.bin`` side files; the column holds the file's path
  relative to the bag's output folder.

Generating the row function as source once per type keeps the per-message work to
attribute loads, with no per-message inspection of the type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from rosbags.interfaces import Nodetype
from rosbags.typesys.store import Typestore

from processor.cloudtypes import is_point_cloud, is_point_cloud2
from processor.plain import list_converter
from processor.ros1 import ros1_desc

TIME_COLUMN = "log_time_ns"  # int64 nanoseconds since the epoch: exact, and any tool reads it
TIMESTAMP_COLUMN = "log_time"  # the same instant as a UTC timestamp (Parquet) or ISO text (CSV)
TIME_COLUMNS = (TIME_COLUMN, TIMESTAMP_COLUMN)
MAX_EXPANDED_ARRAY = 64
MAX_COLUMNS = 1024
BYTE_TYPES = frozenset({"uint8", "int8", "byte", "char"})
STRING_TYPES = frozenset({"string", "wstring"})
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
RAW_IMAGE = "sensor_msgs/msg/Image"

Role = Literal["value", "list", "file", "timestamp"]
FieldDesc = tuple[Any, Any]


@dataclass(frozen=True)
class Column:
    """One table column; `desc` is rosbags' field description, for Parquet typing."""

    name: str
    role: Role
    desc: FieldDesc | None
    path: str = ""
    """The field's dotted path in the message (`header.stamp.sec`); empty for the time
    column. `name` is the path unless another column already has that name."""


class SideFileSink(Protocol):
    """Writes payloads as files and returns their paths relative to the bag's output."""

    def compressed_image(self, message: Any) -> str: ...

    def raw_image(self, message: Any) -> str: ...

    def blob(self, field: str, data: Any) -> str: ...

    def point_cloud2(self, message: Any, field: str) -> str: ...

    def point_cloud(self, message: Any, field: str) -> str: ...


RowFunction = Callable[[Any, int, SideFileSink | None], tuple[Any, ...]]


@dataclass(frozen=True)
class Layout:
    """The columns of a message type's table and the function producing one row."""

    msgtype: str
    columns: tuple[Column, ...]
    row: RowFunction
    widths: tuple[int, ...]
    """How many columns each item of a row fills: 1, or a numeric array's length. A row's
    first item is the log time, which fills both time columns."""
    ros1: bool = False
    """Decoded from the ROS 1 wire format (see ros1_desc)."""

    @property
    def fields(self) -> tuple[Column, ...]:
        """The message's columns: all but the time columns."""
        return self.columns[len(TIME_COLUMNS) :]

    @property
    def has_side_files(self) -> bool:
        return any(column.role == "file" for column in self.columns)


def build_layout(
    store: Typestore,
    msgtype: str,
    *,
    lists_as_json: bool,
    ros1: bool = False,
    separator: str = ".",
) -> Layout:
    """Compile the row function of `msgtype` (lists as JSON text for CSV, Python lists else);
    column names join the field path with `separator`."""
    generator = _Generator(store, ros1=ros1, level=_expansion_level(store, msgtype))
    generator.message(msgtype, "m", "")
    body = "\n".join(f"    {line}" for line in generator.lines)
    values = ", ".join(generator.values)
    source = f"def row(m, t, S):\n{body}\n    return (t, {values})\n"
    namespace: dict[str, Any] = {"L": list_converter(store, as_json=lists_as_json, ros1=ros1)}
    exec(compile(source, f"<row {msgtype}>", "exec"), namespace)
    time = Column(TIME_COLUMN, "value", (Nodetype.BASE, ("int64", 0)))
    stamp = Column(TIMESTAMP_COLUMN, "timestamp", None)
    fields = unique_names(generator.columns, taken=set(TIME_COLUMNS), separator=separator)
    columns = (time, stamp, *fields)
    return Layout(msgtype, columns, namespace["row"], (1, *generator.widths), ros1)


def unique_names(columns: list[Column], *, taken: set[str], separator: str) -> list[Column]:
    """Name each column after its path (joined by `separator`). A field whose path is its own
    name (`a_0`, `log_time_ns__2`) keeps it unless a time column has it; a name already taken
    (a field called `log_time_ns`, or `a.0` joined by `_` beside a field `a_0`) gets `~2`,
    `~3`...: the first free one, in column order, so always the same. ROS field names are
    `[A-Za-z0-9_]` (https://wiki.ros.org/msg, "Fields"), so a suffixed name is never a field's."""
    bases = [c.path if separator == "." else c.path.replace(".", separator) for c in columns]
    claimed = {base for base, c in zip(bases, columns, strict=True) if base == c.path} - taken
    names = []
    for base, column in zip(bases, columns, strict=True):
        name, number = base, 2
        if base != column.path or base in taken:  # a joined name yields to a field's own
            while name in taken or name in claimed:
                name, number = f"{base}~{number}", number + 1
        taken.add(name)
        names.append(replace(column, name=name))
    return names


# Fewest levels of flattening first: each keeps more of the type as single list columns.
_EXPAND_ALL, _KEEP_MESSAGE_ARRAYS, _KEEP_ARRAYS, _KEEP_MESSAGES = range(4)


def _expansion_level(store: Typestore, msgtype: str) -> int:
    """How far `msgtype` is flattened: as far as keeps it to MAX_COLUMNS columns. Arrays of
    arrays of messages multiply (62 x 53 x 58 would be 190 000 columns, seen in fuzzing)."""
    level = _EXPAND_ALL
    while level < _KEEP_MESSAGES and _count(store, msgtype, level, {}) > MAX_COLUMNS:
        level += 1
    return level


def _count(store: Typestore, msgtype: str, level: int, seen: dict[str, int]) -> int:
    """The columns of `msgtype` flattened to `level` (stops counting past MAX_COLUMNS)."""
    if msgtype in seen:
        return seen[msgtype]
    total = 0
    fields: list[tuple[str, tuple[Any, Any]]] = list(store.fielddefs[msgtype][1])
    for _, (kind, detail) in fields:
        if kind == Nodetype.NAME:
            total += _count(store, detail, level, seen) if level < _KEEP_MESSAGES else 1
        elif kind == Nodetype.ARRAY and _expandable(detail, level):
            element, length = detail
            each = _count(store, element[1], level, seen) if element[0] == Nodetype.NAME else 1
            total += length * each
        else:
            total += 1
        if total > MAX_COLUMNS:
            break
    seen[msgtype] = total
    return total


class _Generator:
    def __init__(self, store: Typestore, *, ros1: bool, level: int) -> None:
        self.store = store
        self.ros1 = ros1
        self.level = level
        self.lines: list[str] = []
        self.values: list[str] = []
        self.columns: list[Column] = []
        self.widths: list[int] = []
        self._locals = 0

    def local(self, expression: str) -> str:
        self._locals += 1
        name = f"v{self._locals}"
        self.lines.append(f"{name} = {expression}")
        return name

    def add(self, name: str, role: Role, desc: FieldDesc | None, expression: str) -> None:
        self.columns.append(Column(name, role, desc, name))
        self.values.append(expression)
        self.widths.append(1)

    def message(self, msgtype: str, var: str, prefix: str) -> None:
        attributes = [attr for attr, _ in self.store.get_msgdef(msgtype).fields]
        # Field names come from the bag: only identifiers may reach the generated source
        # (rosbags' parsers accept no others; this keeps it so whatever they accept later).
        if not all(attr.isidentifier() for attr in attributes):
            raise ValueError(f"{msgtype} has a field name that is not an identifier")
        cloud = is_point_cloud(self.store, msgtype)
        for attr, (name, desc) in zip(attributes, self.store.fielddefs[msgtype][1], strict=True):
            if cloud and name in ("points", "channels"):
                if name == "points":  # both become one point file, named after the points
                    call = f"S.point_cloud({var}, {prefix + name!r})"
                    self.add(f"{prefix}{name}", "file", None, call)
                continue
            if self.ros1 and (wire := ros1_desc(msgtype, name, desc)) is not desc:
                self.add(f"{prefix}{name}", "value", wire, f"({var}.{attr} & 0xFFFFFFFF)")
                continue
            self.field(msgtype, var, attr, f"{prefix}{name}", desc)

    def field(self, msgtype: str, var: str, attr: str, name: str, desc: FieldDesc) -> None:
        kind, detail = desc
        expression = f"{var}.{attr}"
        if kind == Nodetype.BASE:
            self.add(name, "value", desc, expression)
        elif kind == Nodetype.NAME and self.level < _KEEP_MESSAGES:
            self.message(detail, self.local(expression), f"{name}.")
        elif kind == Nodetype.ARRAY and _expandable(detail, self.level):
            self.fixed_array(expression, name, detail[0], detail[1])
        elif kind == Nodetype.SEQUENCE and _is_payload(name, detail):
            if msgtype == COMPRESSED_IMAGE:
                self.add(name, "file", None, f"S.compressed_image({var})")
            elif msgtype == RAW_IMAGE:
                self.add(name, "file", None, f"S.raw_image({var})")
            elif is_point_cloud2(self.store, msgtype):
                self.add(name, "file", None, f"S.point_cloud2({var}, {name!r})")
            else:
                self.add(name, "file", None, f"S.blob({name!r}, {expression})")
        else:
            self.add(name, "list", desc, f"L({expression})")

    def fixed_array(self, expression: str, name: str, element: FieldDesc, length: int) -> None:
        if element[0] == Nodetype.BASE and element[1][0] not in STRING_TYPES and length > 1:
            # rosbags gives numeric arrays as numpy arrays: kept whole, split in bulk later
            # (a row item of width 1 is a scalar: one element is taken out below).
            self.columns.extend(
                Column(f"{name}.{i}", "value", element, f"{name}.{i}") for i in range(length)
            )
            self.values.append(expression)
            self.widths.append(length)
        elif element[0] == Nodetype.BASE:
            items = self.local(expression)
            for index in range(length):
                value = f"{items}[{index}]" + ("" if element[1][0] in STRING_TYPES else ".item()")
                self.add(f"{name}.{index}", "value", element, value)
        else:
            items = self.local(expression)
            for index in range(length):
                self.message(element[1], self.local(f"{items}[{index}]"), f"{name}.{index}.")


def _expandable(detail: tuple[FieldDesc, int], level: int) -> bool:
    """A fixed-size array short enough for a column per element, at flattening `level`."""
    element, length = detail
    if length > MAX_EXPANDED_ARRAY or level >= _KEEP_ARRAYS:
        return False
    return element[0] == Nodetype.BASE or (
        element[0] == Nodetype.NAME and level < _KEEP_MESSAGE_ARRAYS
    )


def _is_payload(name: str, detail: tuple[FieldDesc, int]) -> bool:
    """A variable-length byte array named `data`: written as a file, never inlined."""
    element = detail[0]
    return (
        name.rsplit(".", 1)[-1] == "data"
        and element[0] == Nodetype.BASE
        and element[1][0] in BYTE_TYPES
    )
