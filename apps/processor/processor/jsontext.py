"""The JSON text of a batch of lists, exactly as processor.plain writes each list, made by Arrow.

A list column's CSV cell is the list as JSON: `json.dumps` with compact separators, floats
by `repr`. For a batch decoded column-wise (processor.columnar), every row's text is one
Arrow join of literal pieces (brackets, keys, commas) and of each leaf's text column, so
no Python string is made per value:

- integers: Arrow's cast to text, the digits `%d` writes;
- floats: Arrow's cast writes the shortest text that reads back as the same double, which
  is also what `repr` writes, in another layout: whole numbers without `.0`, and other
  thresholds for exponent notation (`repr` uses it below 1e-4 and from 1e16) with other
  exponent digits (`1e-9`, `repr` `1e-09`). Between 1e-4 and 1e9 the two agree once whole
  numbers get `.0`; every other value (rare in sensor data), and -0.0, is `repr`'d in
  Python. tests/processor/test_json_text.py compares both over every decimal exponent;
- strings: already JSON text, one `json.dumps` per distinct value (processor.columnar);
- booleans: `true` and `false`.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

# What pyarrow.compute re-exports, without a Python wrapper built for every kernel (30 ms
# of start-up: processor.csvtext).
compute: Any = importlib.import_module("pyarrow._compute")

_TO_STRING = compute.CastOptions(pa.string())
_EMPTY = pa.scalar("", pa.string())
_SUFFIX = np.frombuffer(b".0", np.uint8)
# Where Arrow's float text is repr's (whole numbers given `.0`): see the module doc.
_LOW, _HIGH = 1e-4, 1e9


def json_lists(paths: Sequence[str], columns: Sequence[np.ndarray[Any, Any]], rows: int) -> Any:
    """Each row's list as JSON text: `columns` holds, per leaf of an element (`paths`:
    each leaf's dotted path in the element, '' for an element that is a leaf), its values
    as a (rows, elements) array: finite numbers, or the JSON text of strings (objects).

    A cell (leaf of one element) that is the same in every row joins the literal pieces:
    frame names, zeros and flags usually are, and each argument of the join costs.
    """
    elements = columns[0].shape[1] if columns else 0
    if elements == 0:
        return pa.array(["[]"] * rows, type=pa.string())
    texts = _cell_texts(columns, rows)
    pieces = _element_pieces(paths)
    args: list[Any] = []
    literal = "["
    for element in range(elements):
        literal += ("," if element else "") + pieces[0]
        for leaf in range(len(columns)):
            text = texts[(element, leaf)]
            if isinstance(text, str):
                literal += text
            else:
                if literal:
                    args.append(pa.scalar(literal, pa.string()))
                args.append(text)
                literal = ""
            literal += pieces[leaf + 1]
    literal += "]"
    if not args:
        return pa.array([literal] * rows, type=pa.string())
    args.append(pa.scalar(literal, pa.string()))
    return compute.call_function("binary_join_element_wise", [*args, _EMPTY])


def _cell_texts(columns: Sequence[np.ndarray[Any, Any]], rows: int) -> dict[tuple[int, int], Any]:
    """Per (element, leaf), its one text if every row has the same value, else its text
    column (each kind of value converted in one call)."""
    texts: dict[tuple[int, int], Any] = {}
    varying: dict[np.dtype[Any], list[tuple[tuple[int, int], np.ndarray[Any, Any]]]] = {}
    for leaf, column in enumerate(columns):
        for element, same in enumerate(_constant(column).tolist()):
            if same:
                texts[(element, leaf)] = _one_text(column[0, element])
            else:
                varying.setdefault(column.dtype, []).append(((element, leaf), column[:, element]))
    for dtype, cells in varying.items():
        converted = _texts(np.concatenate([values for _, values in cells]), dtype)
        for number, (cell, _) in enumerate(cells):
            texts[cell] = converted.slice(number * rows, rows)
    return texts


def _constant(column: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Per element, whether every row holds the same value (floats: the same bits)."""
    if column.dtype.kind == "f":
        column = column.view(f"u{column.dtype.itemsize}")
    return np.all(column == column[:1], axis=0)


def _one_text(value: Any) -> str:
    """One value's text, as json.dumps writes it (strings come as their JSON text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.bool_):
        return "true" if value else "false"
    if isinstance(value, np.floating):
        return repr(float(value))
    return str(int(value))


def _element_pieces(paths: Sequence[str]) -> list[str]:
    """The literal text around each leaf of one element, as json.dumps lays it out."""
    if tuple(paths) == ("",):
        return ["", ""]
    tree: dict[str, Any] = {}
    for index, path in enumerate(paths):
        *parents, key = path.split(".")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[key] = f"\0{index}\0"
    text = json.dumps(tree, separators=(",", ":"))
    pieces = []
    for index in range(len(paths)):
        before, text = text.split(f'"\\u0000{index}\\u0000"', 1)
        pieces.append(before)
    return [*pieces, text]


def _texts(values: np.ndarray[Any, Any], dtype: np.dtype[Any]) -> Any:
    """The text of every value of a 1-D array."""
    if dtype.kind == "O":
        return pa.array(values, type=pa.string())
    if dtype.kind == "b":
        return pa.array(np.where(values, "true", "false"), type=pa.string())
    if dtype.kind == "f":
        return float_texts(values.astype(np.float64))
    return compute.call_function("cast", [pa.array(values)], _TO_STRING)


def float_texts(values: np.ndarray[Any, Any]) -> Any:
    """`repr` of every (finite) float64 in `values`, as an Arrow string array."""
    texts = compute.call_function("cast", [pa.array(values)], _TO_STRING)
    size = np.abs(values)
    slow = (size >= _HIGH) | ((size < _LOW) & ((values != 0) | np.signbit(values)))
    whole = (np.trunc(values) == values) & ~slow
    if whole.any():  # append `.0`: a text column of "" and ".0", made from its buffers
        offsets = np.zeros(len(values) + 1, dtype=np.int32)
        np.cumsum(whole * 2, out=offsets[1:])
        data = np.tile(_SUFFIX, int(whole.sum()))
        suffix = pa.Array.from_buffers(
            pa.string(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        texts = compute.call_function("binary_join_element_wise", [texts, suffix, _EMPTY])
    if slow.any():
        exact = pa.array([repr(value) for value in values[slow].tolist()], type=pa.string())
        texts = compute.call_function("replace_with_mask", [texts, pa.array(slow), exact])
    return texts
