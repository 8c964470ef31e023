"""A /tf that several nodes publish (several connections, messages of several lengths) stays
batched: each group of equal-length messages is decoded column-wise and the rows come out
in log-time order, every cell as rosbags' own deserialization gives it (issue 17)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_typestore
from rosbags.typesys.store import Typestore

from processor.columnar import ColumnarDecoder
from processor.names import topic_stem
from scripts.synthetic_bags import ros1_store
from tests.processor.helpers import (
    assert_cell,
    direct_messages,
    plain,
    read_csv,
    resolve,
    run_cli,
)

MSGTYPE = "tf2_msgs/msg/TFMessage"
MESSAGES = 3_000  # about three list batches (1 024 rows each)
# Per publisher, the (parent, child) frames of its messages: three lengths of message.
PUBLISHERS = [
    [("odom", "base_link")],
    [("base_link", "imu"), ("base_link", "gnss"), ("base_link", "camera")],
    [("map", "odom")],
]
# Same length as each other, different string lengths: offsets move within one length group.
SHUFFLED = [("ab", "cdef"), ("abcd", "ef")]
NAN_AT = 1_234


def _message(store: Typestore, index: int, *, ros1: bool) -> tuple[int, Any]:
    """The `index`th /tf message and its publisher; one has a NaN (CSV: its group goes to
    rosbags), every 50th a frame list of the shuffled kind (not column-wise decodable)."""
    types = store.types
    publisher = index % 3 if index % 5 else 0  # publisher 0 twice as busy as the others
    frames = PUBLISHERS[publisher]
    if index % 50 == 7:
        frames = [SHUFFLED[(index // 50) % 2]]
    stamped = types["geometry_msgs/msg/TransformStamped"]
    header, time = types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"]
    vector, quaternion = types["geometry_msgs/msg/Vector3"], types["geometry_msgs/msg/Quaternion"]
    transform = types["geometry_msgs/msg/Transform"]
    x = math.nan if index == NAN_AT else index / 7
    seq = {"seq": index} if ros1 else {}  # ROS 1 headers count their messages
    message = types[MSGTYPE](
        transforms=[
            stamped(
                header=header(stamp=time(sec=index, nanosec=number), frame_id=parent, **seq),
                child_frame_id=child,
                transform=transform(
                    translation=vector(x=x, y=-0.0, z=float(number)),
                    rotation=quaternion(x=0.0, y=0.0, z=math.sin(index), w=1.0),
                ),
            )
            for number, (parent, child) in enumerate(frames)
        ]
    )
    return publisher, message


def _ros1_bag(path: Path) -> Path:
    store = ros1_store()
    with Writer1(path) as writer:
        connections = [
            writer.add_connection("/tf", MSGTYPE, typestore=store, callerid=f"/node{number}")
            for number in range(len(PUBLISHERS))
        ]
        for index in range(MESSAGES):
            publisher, message = _message(store, index, ros1=True)
            raw = store.serialize_ros1(message, MSGTYPE)
            writer.write(connections[publisher], 1_000 + index * 1_000, raw)
    return path


def _mcap_bag(path: Path) -> Path:
    store = get_typestore(Stores.ROS2_HUMBLE)
    with Writer2(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        connection = writer.add_connection("/tf", MSGTYPE, typestore=store)
        for index in range(MESSAGES):
            _, message = _message(store, index, ros1=False)
            raw = store.serialize_cdr(message, MSGTYPE)
            writer.write(connection, 1_000 + index * 1_000, raw)
    return path


@pytest.fixture(scope="module", params=["ros1", "mcap"])
def bag(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "ros1":
        return _ros1_bag(folder / "tf.bag")
    return _mcap_bag(folder / "tf")


@pytest.fixture
def column_wise(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the messages each batch decodes column-wise."""
    counted: list[int] = []
    original = ColumnarDecoder.decode_uniform

    def counting(self: ColumnarDecoder, data: Any, count: int, length: int) -> Any:
        columns = original(self, data, count, length)
        if columns is not None:
            counted.append(count)
        return columns

    monkeypatch.setattr(ColumnarDecoder, "decode_uniform", counting)
    return counted


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_tf_of_several_publishers_is_decoded_column_wise_cell_for_cell(
    bag: Path, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], column_wise: list[int]
) -> None:
    status, _, _ = run_cli(capsys, "extract", bag, tmp_path, "--format", fmt)

    assert status == 0
    # The shuffled messages (1 in 50) go to rosbags, and in CSV the NaN's group.
    assert sum(column_wise) > MESSAGES * 0.8
    messages = direct_messages(bag)["/tf"]
    assert len(messages) == MESSAGES
    folder = tmp_path / bag.name.removesuffix(".bag")
    if fmt == "csv":
        rows = read_csv(folder / f"{topic_stem('/tf')}.csv")
        assert len(rows) == MESSAGES
        for row, (timestamp, message) in zip(rows, messages, strict=True):
            assert int(row.pop("log_time_ns")) == timestamp
            row.pop("log_time")
            assert list(row) == ["transforms"]  # the list, as JSON text
            if math.isnan(message.transforms[0].transform.translation.x):
                cell = row["transforms"]  # every x is NaN, spelled as processor.plain does
                assert cell.count('"x":"NaN"') == len(message.transforms)
            else:
                assert_cell(row["transforms"], message.transforms, f"@{timestamp}")
        return
    table = pq.read_table(folder / f"{topic_stem('/tf')}.parquet")
    values = table.drop_columns(["log_time"]).to_pylist()
    assert len(values) == MESSAGES
    for row, (timestamp, message) in zip(values, messages, strict=True):
        assert row.pop("log_time_ns") == timestamp
        for column, value in row.items():
            expected = plain(resolve(message, column))
            assert _same(value, expected), f"{column} @{timestamp}"


def _same(value: Any, expected: Any) -> bool:
    """Equal, NaN equal to NaN (the Parquet cells of the NaN messages)."""
    if isinstance(value, float) and isinstance(expected, float):
        return value == expected or (math.isnan(value) and math.isnan(expected))
    if isinstance(value, list) and isinstance(expected, list):
        return len(value) == len(expected) and all(map(_same, value, expected))
    if isinstance(value, dict) and isinstance(expected, dict):
        return value.keys() == expected.keys() and all(_same(value[k], expected[k]) for k in value)
    return value == expected
