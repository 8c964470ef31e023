"""Message values inside list columns as plain data: JSON text for CSV, Python lists and
dicts for Parquet's list and struct columns. Both formats get exactly the same fields."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from rosbags.typesys.store import Typestore

from processor.ros1 import ros1_desc


class Plain:
    """Converts decoded values of one typestore's types to lists, dicts, numbers and text.

    A message becomes a dict of its definition's fields, by their definition names. The
    field list comes from the typestore: rosbags' message classes also carry the type's
    constants (`PointField.INT8`) as dataclass fields, which are not message data.
    """

    def __init__(self, store: Typestore, *, ros1: bool = False) -> None:
        self._store = store
        self._ros1 = ros1
        self._fields: dict[type, tuple[tuple[str, str, bool], ...]] = {}

    def __call__(self, value: Any) -> Any:
        if hasattr(value, "tolist"):
            return value.tolist()
        if isinstance(value, list | tuple):
            return [self(item) for item in value]
        fields = self._fields.get(type(value))
        if fields is None:
            msgtype = getattr(type(value), "__msgtype__", None)
            if msgtype is None:
                return value
            fields = self._fields[type(value)] = self._message_fields(msgtype)
        return {
            name: getattr(value, attr) & 0xFFFFFFFF if unsigned else self(getattr(value, attr))
            for attr, name, unsigned in fields
        }

    def _message_fields(self, msgtype: str) -> tuple[tuple[str, str, bool], ...]:
        """(class attribute, definition name, ROS 1 unsigned seconds) per field: rosbags
        appends `_` to attributes named like keywords (processor.flatten.ros1_desc)."""
        attributes = [attr for attr, _ in self._store.get_msgdef(msgtype).fields]
        return tuple(
            (attr, name, self._ros1 and ros1_desc(msgtype, name, desc) is not desc)
            for attr, (name, desc) in zip(
                attributes, self._store.fielddefs[msgtype][1], strict=True
            )
        )

    def json_text(self, value: Any) -> str:
        """Strict JSON: non-finite floats become the strings `"NaN"`, `"Infinity"` and
        `"-Infinity"` (as CSV scalars are spelled), never JSON's invalid bare tokens."""
        data = self(value)
        text = json.dumps(data, separators=(",", ":"), allow_nan=True)
        if "NaN" in text or "Infinity" in text:  # rare: only then look at every float
            text = json.dumps(json_safe(data), separators=(",", ":"), allow_nan=False)
        return text


def json_safe(data: Any) -> Any:
    """`data` with its non-finite floats as the strings `"NaN"`, `"Infinity"` and
    `"-Infinity"`: what every JSON output of the processor writes for them."""
    if isinstance(data, float) and not math.isfinite(data):
        return "NaN" if math.isnan(data) else ("Infinity" if data > 0 else "-Infinity")
    if isinstance(data, list):
        return [json_safe(item) for item in data]
    if isinstance(data, dict):
        return {key: json_safe(item) for key, item in data.items()}
    return data


def list_converter(store: Typestore, *, as_json: bool, ros1: bool) -> Callable[[Any], Any]:
    """What a row function calls on a list field's value."""
    plain = Plain(store, ros1=ros1)
    return plain.json_text if as_json else plain
