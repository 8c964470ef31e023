"""Column types as downstream readers see them: floats look like floats in CSV, non-finite
values have one spelling, lists are strict JSON."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from processor.csvtext import batch_text
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


def _uint32_bag(path: Path, times: list[int], *, plugin: StoragePlugin) -> None:
    store = get_typestore(Stores.ROS2_HUMBLE)
    cls = store.types["std_msgs/msg/UInt32"]
    with Writer2(path, version=9, storage_plugin=plugin) as writer:
        connection = writer.add_connection("/n", "std_msgs/msg/UInt32", typestore=store)
        for index, log_time in enumerate(times):
            raw = store.serialize_cdr(cls(data=index), "std_msgs/msg/UInt32")
            writer.write(connection, log_time, raw)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_log_time_is_a_signed_integer_and_a_utc_timestamp(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    times = [-5_000_000_000, 0, 1_700_000_000_123_456_789]  # sqlite stores signed times
    _uint32_bag(tmp_path / "times", times, plugin=StoragePlugin.SQLITE3)
    assert run_cli(capsys, "extract", tmp_path / "times", tmp_path / "out", "--format", fmt)[0] == 0
    path = tmp_path / "out" / "times" / f"n.{fmt}"
    table = pq.read_table(path) if fmt == "parquet" else pcsv.read_csv(path)
    assert table.column_names[:2] == ["log_time_ns", "log_time"]
    assert table.schema.field("log_time_ns").type == pa.int64()
    assert table.column("log_time_ns").to_pylist() == times
    if fmt == "parquet":
        assert table.schema.field("log_time").type == pa.timestamp("ns", tz="UTC")
        assert table.column("log_time").cast(pa.int64()).to_pylist() == times
    else:
        assert [r["log_time"] for r in read_csv(path)] == [
            "1969-12-31T23:59:55.000000000Z",
            "1970-01-01T00:00:00.000000000Z",
            "2023-11-14T22:13:20.123456789Z",
        ]


def test_log_times_beyond_int64_are_counted_as_bad_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _uint32_bag(tmp_path / "far", [10, 2**63 + 5, 20], plugin=StoragePlugin.MCAP)
    assert run_cli(capsys, "extract", tmp_path / "far", tmp_path / "out")[0] == 3
    [topic] = json.loads((tmp_path / "out" / "far" / "manifest.json").read_text())["topics"]
    assert (topic["messages"], topic["bad_messages"]) == (2, 1)
    assert "int64" in topic["bad_examples"][0]["reason"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_ros1_times_from_2038_on_are_not_negative(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # ROS 1 `time` is two uint32 (sec, nsec); rosbags decodes it as builtin_interfaces/Time,
    # whose sec is int32. Written here as bytes: rosbags' own writer cannot hold the value.
    store = get_typestore(Stores.ROS1_NOETIC)
    store.register(get_types_from_msg("std_msgs/Header[] headers\n", "test_msgs/msg/Headers"))
    sec = 2**31 + 5  # 2038-01-19T03:14:13Z
    header = struct.pack("<III", 1, sec, 7) + struct.pack("<I", 1) + b"f"
    bag = tmp_path / "late.bag"
    with Writer1(bag) as writer:
        plain = writer.add_connection("/header", "std_msgs/msg/Header", typestore=store)
        tf = writer.add_connection("/tf", "test_msgs/msg/Headers", typestore=store)
        writer.write(plain, 10, header)
        writer.write(tf, 10, struct.pack("<I", 1) + header)
    assert run_cli(capsys, "extract", bag, tmp_path / "out", "--format", fmt)[0] == 0
    folder = tmp_path / "out" / "late"
    if fmt == "csv":
        [row] = read_csv(folder / "header.csv")
        [tf_row] = read_csv(folder / "tf.csv")
        stamp = json.loads(tf_row["headers"])[0]["stamp"]
        assert (int(row["stamp.sec"]), stamp["sec"]) == (sec, sec)
    else:
        assert pq.read_table(folder / "header.parquet").column("stamp.sec").to_pylist() == [sec]
        [headers] = pq.read_table(folder / "tf.parquet").column("headers").to_pylist()
        assert headers[0]["stamp"] == {"sec": sec, "nanosec": 7}


@pytest.mark.parametrize("kind", [pa.float64(), pa.float32()])
def test_a_constant_column_is_written_as_the_same_column_of_mixed_values(
    kind: pa.DataType,
) -> None:
    # Constant columns are formatted from their one value (processor.csvtext): the text
    # must be what the column-wide path writes for that value.
    values = [0.0, -0.0, 2.0, -3.0, 0.1, math.nan, math.inf, -math.inf, 1e20, 1e-7, 123456.0]
    mixed = pa.array(values, type=kind)
    lines = bytes(batch_text([mixed])).decode().splitlines()
    for value, line in zip(values, lines, strict=True):
        constant = bytes(batch_text([pa.array([value] * 3, type=kind)])).decode().splitlines()
        assert constant == [line] * 3, value
        assert any(mark in line for mark in ".eN") or "Infinity" in line, line
        assert (
            math.isnan(float(line))
            if math.isnan(value)
            else float(line) == np.float32(value) or float(line) == value
        )
