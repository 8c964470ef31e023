"""The JSON text Arrow makes for a batch of lists is json.dumps's, character for character
(processor.jsontext): floats of every decimal exponent as repr writes them, integers at
their limits, booleans, strings JSON escapes, cells constant over the batch and not."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from processor.jsontext import float_texts, json_lists


def _floats() -> np.ndarray[Any, Any]:
    rng = np.random.default_rng(17)
    exponents = np.arange(-324, 309)
    mantissas = rng.random((len(exponents), 6)) * 9 + 1
    edges = [1e-4, 1e9, 1e16, 1e-5, 1e10, 2.0**53, 1e22, 5e-324, 1.7976931348623157e308]
    with np.errstate(over="ignore"):  # past the largest double: dropped below
        spread = (mantissas * 10.0 ** exponents[:, None].astype(np.float64)).reshape(-1)
        around = [np.nextafter(edge, direction) for edge in edges for direction in (0.0, np.inf)]
    wholes = [0.0, -0.0, 1.0, -74.0, 999_999_999.0, 1e9, 123_456_789_012.0, 1e15, 1e16]
    values = np.concatenate([spread, edges, around, wholes, rng.standard_normal(1000)])
    values = np.concatenate([values, -values])
    return values[np.isfinite(values)]


def test_float_texts_are_repr_for_every_exponent() -> None:
    values = _floats()
    assert float_texts(values).to_pylist() == [repr(value) for value in values.tolist()]


def test_float32_values_are_written_as_the_doubles_they_widen_to() -> None:
    values = np.array([0.1, 1 / 3, 16_777_217, 3.4e38], dtype=np.float32)
    rows = json_lists([""], [values.reshape(-1, 1)], len(values)).to_pylist()
    assert rows == [json.dumps([value]) for value in values.tolist()]


def test_lists_of_messages_are_json_dumps_text() -> None:
    rng = np.random.default_rng(3)
    rows, elements = 50, 3
    names = np.array([json.dumps(text) for text in ['a"b', "é\\", "%d", "x"]], dtype=object)
    columns = [
        np.where(np.arange(rows * elements).reshape(rows, elements) % 7 == 0, 1.5e-7, 2.0),
        np.full((rows, elements), -0.0),  # constant: one literal
        rng.standard_normal((rows, elements)) * 1e12,
        np.array([[2**64 - 1, 0, 7]] * rows, dtype=np.uint64),
        rng.integers(-(2**63), 2**63 - 1, (rows, elements), dtype=np.int64),
        rng.random((rows, elements)) > 0.5,
        names[rng.integers(0, len(names), (rows, elements))],
        np.array([[names[0]] * elements] * rows, dtype=object),
    ]
    paths = ["stamp.x", "stamp.zero", "big", "limit", "signed", "flag", "name", "same"]
    texts = json_lists(paths, columns, rows).to_pylist()
    for row, text in enumerate(texts):
        expected = []
        for element in range(elements):
            values = [column[row, element] for column in columns]
            plain = [json.loads(v) if isinstance(v, str) else v.item() for v in values]
            expected.append(
                {
                    "stamp": {"x": plain[0], "zero": plain[1]},
                    **dict(zip(paths[2:], plain[2:], strict=True)),
                }
            )
        assert text == json.dumps(expected, separators=(",", ":")), row


def test_empty_lists_and_one_row() -> None:
    assert json_lists(["x"], [np.zeros((3, 0))], 3).to_pylist() == ["[]"] * 3
    one = json_lists([""], [np.array([[0.5, 1e-9]])], 1).to_pylist()
    assert one == ["[0.5,1e-09]"]
