"""Column types as downstream readers see them: floats look like floats in CSV, non-finite
values have one spelling, lists are strict JSON."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from tests.processor.helpers import BAGS, read_csv, run_cli

MSGTYPE = "test_msgs/msg/Floats"
DEFINITION = "float64 a\nfloat32 b\nfloat64[] c\nstring note\n"
VALUES = [0.0, 2.0, -3.0, 0.5, math.nan, math.inf, -math.inf, 1e20, -0.0]


def _floats_bag(path: Path) -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    store.register(get_types_from_msg(DEFINITION, MSGTYPE))
    cls = store.types[MSGTYPE]
    with Writer1(path) as writer:
        connection = writer.add_connection("/floats", MSGTYPE, typestore=store)
        for index, value in enumerate(VALUES):
            message = cls(a=value, b=value, c=np.array([value, 1.0]), note="NaN")
            writer.write(connection, 10 + index, store.serialize_ros1(message, MSGTYPE))


def _strict_json(text: str) -> object:
    def refuse(token: str) -> object:
        raise AssertionError(f"{token} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_csv_floats_look_like_floats_and_non_finite_ones_have_one_spelling(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _floats_bag(tmp_path / "floats.bag")
    assert run_cli(capsys, "extract", tmp_path / "floats.bag", tmp_path / "out")[0] == 0
    path = tmp_path / "out" / "floats" / "floats.csv"
    rows = read_csv(path)
    spelled = ["0.0", "2.0", "-3.0", "0.5", "NaN", "Infinity", "-Infinity", "1e+20", "-0.0"]
    assert [r["a"] for r in rows] == [r["b"] for r in rows] == spelled
    for row, value in zip(rows, VALUES, strict=True):
        written = _strict_json(row["c"])
        assert isinstance(written, list)
        expected = "NaN" if math.isnan(value) else ("Infinity" if value == math.inf else value)
        assert written == [("-Infinity" if value == -math.inf else expected), 1.0]
        assert row["note"] == "NaN"  # a string that says NaN stays a string
    table = pcsv.read_csv(path)  # a reader that infers types from the text
    assert table.schema.field("a").type == pa.float64()
    assert table.schema.field("b").type == pa.float64()


def test_whole_number_floats_of_a_real_bag_read_as_floats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "extract", BAGS / "turtlesim.bag", tmp_path)[0] == 0
    table = pcsv.read_csv(tmp_path / "turtlesim" / "turtle1.pose.csv")
    for name in ("x", "y", "theta", "linear_velocity", "angular_velocity"):
        assert table.schema.field(name).type == pa.float64(), name
