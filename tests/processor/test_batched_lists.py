"""Variable-length messages decoded a batch at a time (/tf's TFMessage, Odometry with its
covariance arrays, strings) give every cell exactly as rosbags' own deserialization does,
in ROS 1, ROS 2 MCAP and ROS 2 sqlite3 bags, in CSV and Parquet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from processor.bag import open_bag
from processor.columnar import columnar_decoder
from processor.flatten import build_layout
from processor.names import topic_stem
from processor.tables import arrow_type, row_types, rows_to_arrays
from scripts.synthetic_bags import write_drive
from tests.processor.helpers import (
    assert_cell,
    direct_messages,
    plain,
    read_csv,
    resolve,
    run_cli,
)

KINDS = {"ros1": "drive.bag", "ros2-mcap": "drive", "ros2-sqlite3": "drive"}
CHECKED = ("/tf", "/odom", "/imu/data", "/gnss/fix")  # the camera's cells are file paths


@pytest.fixture(scope="module", params=sorted(KINDS))
def drive(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(request.param)
    return write_drive(
        folder / KINDS[request.param], seconds=2, kind=request.param, frame_size=(16, 12)
    ).path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_the_drives_variable_length_topics_are_decoded_in_batches(drive: Path, fmt: str) -> None:
    """The value checks below prove the batch path only if it is the path taken."""
    with open_bag(drive) as bag:
        for stream in bag.streams:
            if stream.topic not in ("/tf", "/odom"):
                continue
            assert stream.typestore is not None
            store = stream.typestore
            layout = build_layout(
                store, stream.msgtype, lists_as_json=fmt == "csv", ros1=not stream.cdr
            )
            types = [
                arrow_type(c, store, lists_as_text=fmt == "csv", ros1=not stream.cdr)
                for c in layout.columns
            ]
            decoder = columnar_decoder(layout, store, types, cdr=stream.cdr)
            assert decoder is not None, stream.topic
            raws = [bytes(raw) for _, _, raw in bag.messages([stream])]
            assert decoder.decode(raws) is not None, stream.topic


def test_csv_cells_match_rosbags(
    drive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run_cli(capsys, "extract", drive, tmp_path)
    assert status == 0
    folder = tmp_path / drive.name.removesuffix(".bag")
    for topic, messages in direct_messages(drive).items():
        if topic not in CHECKED:
            continue
        rows = read_csv(folder / f"{topic_stem(topic)}.csv")
        assert len(rows) == len(messages)
        for row, (timestamp, message) in zip(rows, messages, strict=True):
            assert int(row.pop("log_time_ns")) == timestamp
            row.pop("log_time")
            for column, cell in row.items():
                assert_cell(cell, resolve(message, column), f"{topic} {column} @{timestamp}")


def test_parquet_cells_match_rosbags(
    drive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run_cli(capsys, "extract", drive, tmp_path, "--format", "parquet")
    assert status == 0
    folder = tmp_path / drive.name.removesuffix(".bag")
    for topic, messages in direct_messages(drive).items():
        if topic not in CHECKED:
            continue
        table = pq.read_table(folder / f"{topic_stem(topic)}.parquet")
        rows = table.drop_columns(["log_time"]).to_pylist()
        assert len(rows) == len(messages)
        for row, (timestamp, message) in zip(rows, messages, strict=True):
            assert row.pop("log_time_ns") == timestamp
            for column, value in row.items():
                assert value == plain(resolve(message, column)), f"{topic} {column}"


def _joint_states(store: Typestore) -> list[Any]:
    """Sequences of strings (one of each length, escaped in JSON) and of float64, some empty."""
    types = store.types
    return [
        types["sensor_msgs/msg/JointState"](
            header=types["std_msgs/msg/Header"](
                stamp=types["builtin_interfaces/msg/Time"](sec=index, nanosec=7),
                frame_id='é"%s\\',
            ),
            name=[f"j{index % 10}", "wheel_\u00e9", "%d"],
            position=np.array([index * 0.1, -0.0, 1e-310]),
            velocity=np.array([1.5, 2.5, float(index)]),
            effort=np.zeros(0),
        )
        for index in range(40)
    ]


def _transforms(store: Typestore) -> list[Any]:
    types = store.types
    stamped = types["geometry_msgs/msg/TransformStamped"]
    header, time = types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"]
    vector, quaternion = types["geometry_msgs/msg/Vector3"], types["geometry_msgs/msg/Quaternion"]
    transform = types["geometry_msgs/msg/Transform"]
    return [
        types["tf2_msgs/msg/TFMessage"](
            transforms=[
                stamped(
                    header=header(stamp=time(sec=index, nanosec=number), frame_id=f"f{number}"),
                    child_frame_id=f"c{index % 7}",
                    transform=transform(
                        translation=vector(x=index / 3, y=-1.0, z=0.0),
                        rotation=quaternion(x=0.0, y=0.0, z=0.0, w=1.0),
                    ),
                )
                for number in range(count)
            ]
        )
        for index in range(40)
        for count in ([3] if index < 20 else [0])  # a batch of empty lists too
    ]


@pytest.mark.parametrize("cdr", [False, True], ids=["ros1", "cdr"])
@pytest.mark.parametrize("as_json", [True, False], ids=["csv", "parquet"])
@pytest.mark.parametrize("make", [_joint_states, _transforms], ids=["strings", "messages"])
def test_lists_decode_in_batches_exactly_as_rosbags_does(
    cdr: bool, as_json: bool, make: Callable[[Typestore], list[Any]]
) -> None:
    from processor.bag import _cdr_decoder, _ros1_decoder

    store = get_typestore(Stores.ROS2_HUMBLE)
    messages = make(store)
    msgtype = type(messages[0]).__msgtype__
    layout = build_layout(store, msgtype, lists_as_json=as_json, ros1=not cdr)
    types = [arrow_type(c, store, lists_as_text=as_json, ros1=not cdr) for c in layout.columns]
    decoder = columnar_decoder(layout, store, types, cdr=cdr)
    assert decoder is not None
    serialize = store.serialize_cdr if cdr else store.serialize_ros1
    raws = [bytes(serialize(message, msgtype)) for message in messages]
    decode = _cdr_decoder(store, msgtype) if cdr else _ros1_decoder(store, msgtype)
    for batch in (raws[:20], raws[20:]):  # each batch of one shape
        fast = decoder.decode(batch)
        assert fast is not None
        rows = [layout.row(decode(raw), index, None) for index, raw in enumerate(batch)]
        slow = rows_to_arrays(rows, layout.widths, row_types(types))[1:]
        for column, a, b in zip(layout.fields, fast, slow, strict=True):
            assert a.type == b.type, column.name
            assert a.to_pylist() == b.to_pylist(), column.name
    if make is _transforms:  # lists of 3 and of 0: shapes differ, rosbags decodes it
        assert decoder.decode(raws[18:22]) is None


def test_a_list_with_a_non_finite_float_goes_to_rosbags_for_csv() -> None:
    store = get_typestore(Stores.ROS2_HUMBLE)
    messages = _joint_states(store)
    messages[3].velocity[0] = np.nan
    msgtype = "sensor_msgs/msg/JointState"
    layout = build_layout(store, msgtype, lists_as_json=True)
    types = [arrow_type(c, store, lists_as_text=True) for c in layout.columns]
    decoder = columnar_decoder(layout, store, types, cdr=True)
    assert decoder is not None
    raws = [bytes(store.serialize_cdr(message, msgtype)) for message in messages]
    assert decoder.decode(raws) is None
    assert decoder.decode(raws[4:]) is not None
