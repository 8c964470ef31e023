"""CSV text for a batch of Arrow columns, formatted so that readers infer the right types.

pyarrow's own CSV writer prints whole-number floats as integers (`0`, `2`), so pandas,
Spark and DuckDB infer int64 for a float field, and spells non-finite floats `nan`/`inf`,
which Spark's CSV reader does not parse as doubles. Here:

- floats are their shortest exact text (float32 as float32: `0.1`) and always look like
  floats: `0.0`, `2.0`, `1e+20`; non-finite ones are `NaN`, `Infinity`, `-Infinity`
  (what Java's Double.parseDouble, Python's float() and JavaScript's Number() read);
- integers as digits, booleans `true`/`false`, timestamps ISO 8601 (`2023-11-14T22:13:20.
  000000000Z`), strings always quoted (`"` doubled), as pyarrow's writer does.

How: a batch's text is one Arrow projection (Acero: cast, fix, quote, join), executed in
C++ in one call that releases the GIL throughout, as pyarrow's writer does. Column by
column, each of a hundred kernel calls per batch had to take the GIL back from the
decoding thread: measured 3.2 s of wall time for 1.0 s of work on an IMU bag. What decides
the projection (which float columns hold whole numbers or NaN, which columns are
constant, as covariance matrices and unused fields are: written from one value) is a
few numpy operations over all columns of a type at once.

It also keeps nothing between batches, where pyarrow's writer keeps per-column buffers
for each open file (measured: about 0.6 MB per table, 40 MB with 64 topics).
"""

from __future__ import annotations

import functools
import importlib
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

# pyarrow._compute and pyarrow._acero (Cython, no type stubs) are what pyarrow.compute and
# pyarrow.acero re-export; importing pyarrow.compute itself also builds a Python wrapper
# for every kernel: 30 ms more of every run's start-up (measured with python -X importtime).
compute: Any = importlib.import_module("pyarrow._compute")
acero: Any = importlib.import_module("pyarrow._acero")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ROWS_PER_TEXT = 4096
_TWO_DIGITS = np.frombuffer(b"".join(b"%02d" % n for n in range(100)), np.uint8).reshape(-1, 2)
_THREE_DIGITS = np.frombuffer(b"".join(b"%03d" % n for n in range(1000)), np.uint8).reshape(-1, 3)
_WHOLE_NUMBER = r"^-?[0-9]+$"


def _call(name: str, *args: Any, options: Any = None) -> Any:
    """An expression calling the kernel `name`."""
    return compute.Expression._call(name, list(args), options)


@functools.lru_cache(maxsize=4096)  # constant columns repeat their value batch after batch
def _literal(text: str) -> Any:
    # Typed: pa.scalar() without a type looks for an optional module each call (30 us).
    return compute.Expression._scalar(pa.scalar(text, pa.string()))


_EMPTY, _COMMA, _QUOTE = (_literal(text) for text in ("", ",", '"'))
_TO_STRING = compute.CastOptions(pa.string())
_WHOLE = compute.ReplaceSubstringOptions(r"^(-?[0-9]+)$", r"\1.0")  # as _WHOLE_NUMBER
_NON_FINITE = (
    compute.ReplaceSubstringOptions("nan", "NaN"),
    compute.ReplaceSubstringOptions("inf", "Infinity"),  # also turns -inf into -Infinity
)
_DOUBLE_QUOTES = compute.ReplaceSubstringOptions('"', '""')


def _float_expression(text: Any, *, whole: bool, non_finite: bool) -> Any:
    if whole:
        text = _call("replace_substring_regex", text, options=_WHOLE)
    if non_finite:
        for options in _NON_FINITE:
            text = _call("replace_substring", text, options=options)
    return text


def _one_float_text(text: str) -> str:
    """What _float_expression makes of one value's text (both fixes are no-ops elsewhere)."""
    if re.fullmatch(_WHOLE_NUMBER, text):
        return text + ".0"
    return text.replace("nan", "NaN").replace("inf", "Infinity")


def _numbers(columns: list[pa.Array], plans: dict[int, Any]) -> None:
    """The expression of every integer and float column (without nulls), from one numpy
    pass over all columns of a type: a constant column is a literal."""
    groups: dict[pa.DataType, list[int]] = {}
    for index, column in enumerate(columns):
        numeric = pa.types.is_floating(column.type) or pa.types.is_integer(column.type)
        if numeric and not column.null_count:
            groups.setdefault(column.type, []).append(index)
    for kind, indexes in groups.items():
        block = np.column_stack([columns[i].to_numpy() for i in indexes])
        floating = pa.types.is_floating(kind)
        if floating:  # by their bits: -0.0 is not 0.0, and a NaN is the same NaN
            bits = block.view(f"u{block.dtype.itemsize}")
            constant = np.all(bits == bits[0], axis=0) & (len(block) > 1)
        else:
            constant = np.all(block == block[0], axis=0) & (len(block) > 1)
        is_constant = constant.tolist()
        whole = non_finite = dict.fromkeys(indexes, True)
        varying = [i for i, same in zip(indexes, is_constant, strict=True) if not same]
        if floating and varying:
            rest = block[:, ~constant]
            finite = np.isfinite(rest)
            has_whole = np.any(finite & (np.trunc(rest) == rest), axis=0).tolist()
            whole = dict(zip(varying, has_whole, strict=True))
            non_finite = dict(zip(varying, (~np.all(finite, axis=0)).tolist(), strict=True))
        if any(is_constant):
            firsts = compute.call_function(
                "cast", [pa.array(block[0, constant], type=kind)], _TO_STRING
            ).to_pylist()
            for index, text in zip(
                (i for i, same in zip(indexes, is_constant, strict=True) if same),
                firsts,
                strict=True,
            ):
                plans[index] = _literal(_one_float_text(text) if floating else text)
        for index in varying:
            text = _call("cast", compute.Expression._field(f"c{index}"), options=_TO_STRING)
            if floating:
                text = _float_expression(text, whole=whole[index], non_finite=non_finite[index])
            plans[index] = text


def _other(index: int, column: pa.Array, sources: dict[str, pa.Array]) -> Any:
    """The expression of a string, boolean or timestamp column (or numbers with nulls)."""
    kind = column.type
    field = compute.Expression._field(f"c{index}")
    if pa.types.is_timestamp(kind):  # made in numpy: Arrow's cast costs 1.2 us a value
        ns = column.view(pa.int64())
        if column.null_count:  # a synchronized table's unmatched rows (processor.sync)
            ns = compute.call_function("coalesce", [ns, pa.scalar(0, pa.int64())])
        sources[f"t{index}"] = _iso_times(ns.to_numpy())
        text = compute.Expression._field(f"t{index}")
        if column.null_count:
            return _call("if_else", _call("is_valid", field), text, _EMPTY)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        doubled = _call(
            "replace_substring", field, options=compute.ReplaceSubstringOptions('"', '""')
        )
        text = _call("binary_join_element_wise", _QUOTE, doubled, _QUOTE, _EMPTY)
    else:
        text = _call("cast", field, options=_TO_STRING)
        if pa.types.is_floating(kind):
            text = _float_expression(text, whole=True, non_finite=True)
    if column.null_count:
        text = _call("coalesce", text, _EMPTY)
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
    text[:, 11:13] = _TWO_DIGITS[of_day // 3600]
    text[:, 14:16] = _TWO_DIGITS[of_day // 60 % 60]
    text[:, 17:19] = _TWO_DIGITS[of_day % 60]
    text[:, 20:23] = _THREE_DIGITS[fraction // 1_000_000]
    text[:, 23:26] = _THREE_DIGITS[fraction // 1_000 % 1_000]
    text[:, 26:29] = _THREE_DIGITS[fraction % 1_000]
    text[:, [13, 16]] = ord(":")
    text[:, 19] = ord(".")
    text[:, 29] = ord("Z")
    offsets = np.arange(0, 30 * (len(ns) + 1), 30, dtype=np.int32)
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(text)]
    return pa.Array.from_buffers(pa.string(), len(ns), buffers)


def header(names: list[str]) -> bytes:
    return (",".join('"' + name.replace('"', '""') + '"' for name in names) + "\n").encode()


def batch_plan(columns: list[pa.Array]) -> Any:
    """The Acero plan whose one-column result is the CSV lines of one batch (each ending
    with a newline). Deciding it takes Python and a few numpy operations; running it, one
    C++ call without the GIL (run_plan)."""
    plans: dict[int, Any] = {}
    _numbers(columns, plans)
    sources = {f"c{index}": column for index, column in enumerate(columns)}
    texts = [
        plans[index] if index in plans else _other(index, column, sources)
        for index, column in enumerate(columns)
    ]
    texts[-1] = _call("binary_join_element_wise", texts[-1], _literal("\n"), _EMPTY)
    line = _call("binary_join_element_wise", *texts, _COMMA)
    return acero.Declaration.from_sequence(
        [
            acero.Declaration("table_source", acero.TableSourceNodeOptions(pa.table(sources))),
            acero.Declaration("project", acero.ProjectNodeOptions([line], ["line"])),
        ]
    )


def run_plan(plan: Any) -> pa.Buffer:
    lines = plan.to_table(use_threads=False).column(0).combine_chunks()
    offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1, lines.offset * 4)
    return lines.buffers()[2][int(offsets[0]) : int(offsets[-1])]


def batch_text(columns: list[pa.Array]) -> pa.Buffer | bytes:
    """The CSV lines of one batch (every line ends with a newline)."""
    return run_plan(batch_plan(columns)) if len(columns[0]) else b""


class CsvWriter:
    """Writes a header, then batches as CSV text (see module doc).

    `plan` runs on the thread that made the batch, `write_plans` on the background writer:
    all the latter does is one C++ call and a write per plan, so it needs the GIL for
    moments only, and never waits long for the decoding thread to hand it over.
    """

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
        self._write(header(schema.names))

    def _write(self, data: pa.Buffer | bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    @staticmethod
    def plan(table: pa.Table) -> list[Any]:
        # Half a batch at a time: the text of 8 192 IMU rows weighs ~10 MB; half costs no time.
        return [
            batch_plan(batch.columns)
            for batch in table.to_batches(max_chunksize=_ROWS_PER_TEXT)
            if batch.num_rows
        ]

    def write_plans(self, plans: list[Any]) -> None:
        for plan in plans:
            self._write(run_plan(plan))

    def write_table(self, table: pa.Table) -> None:
        self.write_plans(self.plan(table))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
