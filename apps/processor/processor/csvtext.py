"""CSV text for a batch of Arrow columns, formatted so that readers infer the right types.

pyarrow's own CSV writer prints whole-number floats as integers (`0`, `2`), so pandas,
Spark and DuckDB infer int64 for a float field, and spells non-finite floats `nan`/`inf`,
which Spark's CSV reader does not parse as doubles. Here every column is turned into text
by Arrow compute kernels (C++, without the GIL, on the background writer), then fixed:

- floats are their shortest exact text (float32 as float32: `0.1`) and always look like
  floats: `0.0`, `2.0`, `1e+20`; non-finite ones are `NaN`, `Infinity`, `-Infinity`
  (what Java's Double.parseDouble, Python's float() and JavaScript's Number() read);
- integers as digits, booleans `true`/`false`, timestamps ISO 8601 (`2023-11-14T22:13:20.
  000000000Z`), strings always quoted (`"` doubled), as pyarrow's writer does.

It also keeps nothing between batches, where pyarrow's writer keeps per-column buffers
for each open file (measured: about 0.6 MB per table, 40 MB with 64 topics).
"""

from __future__ import annotations

import importlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

# pyarrow._compute (Cython, no type stubs) is what pyarrow.compute re-exports; importing
# pyarrow.compute itself also builds a Python wrapper for every kernel: 30 ms more of
# every run's start-up (measured with python -X importtime).
compute: Any = importlib.import_module("pyarrow._compute")

_WHOLE = compute.ReplaceSubstringOptions(r"^(-?[0-9]+)$", r"\1.0")
_NON_FINITE = (
    compute.ReplaceSubstringOptions("nan", "NaN"),
    compute.ReplaceSubstringOptions("inf", "Infinity"),  # also turns -inf into -Infinity
)
_TO_STRING = compute.CastOptions(pa.string())
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DOUBLE_QUOTES = compute.ReplaceSubstringOptions('"', '""')
# Made once: pa.scalar() looks for an optional module on every call (0.1 ms each, measured).
_QUOTE, _EMPTY, _COMMA, _NEWLINE = (pa.scalar(text) for text in ('"', "", ",", "\n"))
_ROWS_PER_TEXT = 4096


def _call(name: str, args: list[Any], options: Any = None) -> pa.Array:
    return compute.call_function(name, args, options)


def _floats(column: pa.Array, values: np.ndarray[Any, Any]) -> pa.Array:
    text = _call("cast", [column], _TO_STRING)
    finite = np.isfinite(values)
    if np.any(finite & (np.trunc(values) == values)):
        text = _call("replace_substring_regex", [text], _WHOLE)
    if not np.all(finite):
        for options in _NON_FINITE:
            text = _call("replace_substring", [text], options)
    return text


def _quoted(column: pa.Array) -> pa.Array:
    doubled = _call("replace_substring", [column], _DOUBLE_QUOTES)
    return _call("binary_join_element_wise", [_QUOTE, doubled, _QUOTE, _EMPTY])


def _is_constant(column: pa.Array, values: np.ndarray[Any, Any] | None) -> bool:
    """Every value of `column` is the same (sign of zero included): covariance matrices,
    frame ids and unused fields are, in most recordings."""
    if len(column) < 2 or column.null_count:
        return False
    if values is None:
        return len(_call("unique", [column])) == 1
    first = values[0]
    if not np.all(values == first):
        return False
    return values.dtype.kind != "f" or bool(np.all(np.signbit(values) == np.signbit(first)))


def _text(column: pa.Array, newline: bool) -> pa.Array:
    """`column` as CSV text, each value followed by a newline if `newline`."""
    kind = column.type
    numeric = pa.types.is_floating(kind) or pa.types.is_integer(kind)
    values = column.to_numpy(zero_copy_only=False) if numeric else None
    if _is_constant(column, values):  # format one value: a tenth of the time
        return _repeat(_text(column.slice(0, 1), newline)[0].as_buffer(), len(column))
    if pa.types.is_floating(kind):
        assert values is not None
        text = _floats(column, values)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = _quoted(column)
    elif pa.types.is_timestamp(kind):
        text = _iso_times(column.view(pa.int64()).to_numpy())
    else:  # integers, booleans
        text = _call("cast", [column], _TO_STRING)
    if text.null_count:
        text = _call("coalesce", [text, _EMPTY])
    if newline:
        text = _call("binary_join_element_wise", [text, _NEWLINE, _EMPTY])
    return text


def _iso_times(ns: np.ndarray[Any, Any]) -> pa.Array:
    """`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (UTC) for int64 nanoseconds since the epoch, made with
    integer arithmetic: Arrow's own timestamp-to-text cast costs 1.2 us a value, 40 times
    this (measured), as much as the rest of an IMU row."""
    seconds, fraction = np.divmod(ns, 1_000_000_000)
    days, of_day = np.divmod(seconds, 86_400)
    unique, index = np.unique(days, return_inverse=True)  # a recording spans few days
    dates = np.frombuffer(
        b"".join(
            (_EPOCH + timedelta(days=int(day))).strftime("%Y-%m-%dT").encode() for day in unique
        ),
        np.uint8,
    ).reshape(-1, 11)
    text = np.empty((len(ns), 30), np.uint8)
    text[:, :11] = dates[index.reshape(-1)]
    for start, value, digits in (
        (11, of_day // 3600, 2),
        (14, of_day // 60 % 60, 2),
        (17, of_day % 60, 2),
        (20, fraction, 9),
    ):
        for position in range(digits):
            text[:, start + position] = value // 10 ** (digits - 1 - position) % 10 + 48
    text[:, [13, 16]] = ord(":")
    text[:, 19] = ord(".")
    text[:, 29] = ord("Z")
    offsets = np.arange(0, 30 * (len(ns) + 1), 30, dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(text)]
    return pa.Array.from_buffers(pa.string(), len(ns), buffers)


def _repeat(value: pa.Buffer, count: int) -> pa.Array:
    """A string array of `count` times `value`, built from its buffers."""
    size = value.size
    offsets = np.arange(0, (count + 1) * size, size, dtype=np.int32)
    data = value.to_pybytes() * count
    return pa.Array.from_buffers(
        pa.string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def header(names: list[str]) -> bytes:
    return (",".join('"' + name.replace('"', '""') + '"' for name in names) + "\n").encode()


def batch_text(columns: list[pa.Array]) -> pa.Buffer | bytes:
    """The CSV lines of one batch (every line ends with a newline)."""
    if not len(columns[0]):
        return b""
    texts = [_text(column, False) for column in columns[:-1]]
    texts.append(_text(columns[-1], True))
    lines = _call("binary_join_element_wise", [*texts, _COMMA])
    offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1, lines.offset * 4)
    return lines.buffers()[2][int(offsets[0]) : int(offsets[-1])]


class CsvWriter:
    """Writes a header, then batches of columns as CSV text (see module doc)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        self._write(header(schema.names))

    def _write(self, data: pa.Buffer | bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def write_table(self, table: pa.Table) -> None:
        # Half a batch at a time: the text of 8 192 IMU rows weighs ~10 MB; half costs no time.
        for batch in table.to_batches(max_chunksize=_ROWS_PER_TEXT):
            self._write(batch_text(batch.columns))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
