"""The batch (columnar) decoder gives exactly what rosbags gives, or steps aside."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from processor.bag import Decoder, open_bag
from processor.columnar import ColumnarDecoder, columnar_decoder
from processor.flatten import Layout, build_layout
from processor.tables import arrow_type, row_types, rows_to_arrays
from tests.processor.helpers import BAGS, manifest, read_csv, run_cli

EVERY_BASE = """
bool flag
byte b
char c
int8 i8
uint8 u8
int16 i16
uint16 u16
int32 i32
uint32 u32
int64 i64
uint64 u64
float32 f32
float64 f64
string text
uint8 after_text
float64 aligned_after_text
string[2] pair
float32[3] triple
Inner[2] inner
"""
INNER = """
uint8 tag
float64 value
string label
"""
MSGTYPE = "test_msgs/msg/EveryBase"


@pytest.fixture(scope="module")
def store() -> Typestore:
    typestore = get_typestore(Stores.EMPTY)
    typestore.register(get_types_from_msg(INNER, "test_msgs/msg/Inner"))
    typestore.register(get_types_from_msg(EVERY_BASE, MSGTYPE))
    return typestore


def _decoder(store: Typestore, msgtype: str, *, cdr: bool) -> tuple[Layout, ColumnarDecoder]:
    layout = build_layout(store, msgtype, lists_as_json=True)
    types = [arrow_type(c, store, lists_as_text=True) for c in layout.columns]
    decoder = columnar_decoder(layout, store, types, cdr=cdr)
    assert decoder is not None, f"{msgtype} should have fixed offsets"
    return layout, decoder


def _rosbags_columns(
    layout: Layout, store: Typestore, raws: Sequence[bytes], decode: Decoder
) -> list[pa.Array]:
    rows = [layout.row(decode(raw), index, None) for index, raw in enumerate(raws)]
    types = [arrow_type(c, store, lists_as_text=True) for c in layout.columns]
    return rows_to_arrays(rows, layout.widths, row_types(types))[1:]


def _assert_same(fast: list[pa.Array], slow: list[pa.Array], names: Sequence[str]) -> None:
    """Equal types and bit-identical values (NaN payloads and -0.0 included)."""
    assert len(fast) == len(slow)
    for name, a, b in zip(names, fast, slow, strict=True):
        assert a.type == b.type, name
        if pa.types.is_floating(a.type) or pa.types.is_integer(a.type):
            bits = f"u{a.type.byte_width}"
            assert np.array_equal(a.to_numpy().view(bits), b.to_numpy().view(bits)), name
        else:
            assert a.to_pylist() == b.to_pylist(), name


def _message(store: Typestore, index: int, text: str = "héllo") -> Any:
    types = store.types
    nan_with_payload = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0ABC))[0]
    floats = [0.0, -0.0, math.inf, -math.inf, nan_with_payload, 1e-310, 1.1, -2.5]
    inner = types["test_msgs/msg/Inner"]
    return types[MSGTYPE](
        flag=index % 2 == 0,
        b=[-128, 127, 0][index % 3],
        c=[0, 255, 7][index % 3],
        i8=[-128, 127][index % 2],
        u8=[0, 255][index % 2],
        i16=[-32768, 32767][index % 2],
        u16=[0, 65535][index % 2],
        i32=[-(2**31), 2**31 - 1][index % 2],
        u32=[0, 2**32 - 1][index % 2],
        i64=[-(2**63), 2**63 - 1][index % 2],
        u64=[0, 2**64 - 1][index % 2],
        f32=[0.1, -0.0, math.inf, math.nan][index % 4],
        f64=floats[index % len(floats)],
        text=text,
        after_text=index % 256,
        aligned_after_text=floats[(index + 3) % len(floats)],
        pair=["ab", "çd"] if index % 2 else ["xy", "zé"],
        triple=np.array([index, -index, 0.5], dtype=np.float32),
        inner=[
            inner(tag=1, value=floats[index % len(floats)], label="a"),
            inner(tag=2, value=-1.0, label="b"),
        ],
    )


@pytest.mark.parametrize("cdr", [False, True], ids=["ros1", "cdr"])
def test_every_base_type_decodes_bit_for_bit_as_rosbags_does(store: Typestore, cdr: bool) -> None:
    layout, decoder = _decoder(store, MSGTYPE, cdr=cdr)
    serialize = store.serialize_cdr if cdr else store.serialize_ros1
    raws = [bytes(serialize(_message(store, i), MSGTYPE)) for i in range(24)]
    with_bool_byte_2 = bytearray(raws[0])  # a bool stored as 2 is true, as struct reads it
    with_bool_byte_2[4 if cdr else 0] = 2
    raws[0] = bytes(with_bool_byte_2)

    fast = decoder.decode(raws)

    assert fast is not None
    decode = _stream_decoder(store, MSGTYPE, cdr=cdr)
    slow = _rosbags_columns(layout, store, raws, decode)
    _assert_same(fast, slow, [c.name for c in layout.fields])
    assert fast[0].to_pylist()[0] is True


def _stream_decoder(store: Typestore, msgtype: str, *, cdr: bool) -> Decoder:
    from processor.bag import _cdr_decoder, _ros1_decoder

    return _cdr_decoder(store, msgtype) if cdr else _ros1_decoder(store, msgtype)


@pytest.mark.parametrize("cdr", [False, True], ids=["ros1", "cdr"])
def test_batches_it_cannot_prove_uniform_go_back_to_rosbags(store: Typestore, cdr: bool) -> None:
    _, decoder = _decoder(store, MSGTYPE, cdr=cdr)
    serialize = store.serialize_cdr if cdr else store.serialize_ros1
    good = bytes(serialize(_message(store, 0), MSGTYPE))
    same_length_other_split = bytes(serialize(_message(store, 1, text="hé"), MSGTYPE))
    invalid_utf8 = good.replace("héllo".encode(), b"h\xff\xfello")
    assert len(invalid_utf8) == len(good)

    assert decoder.decode([good, bytes(serialize(_message(store, 1, text="hi"), MSGTYPE))]) is None
    assert decoder.decode([good, same_length_other_split]) is None
    assert decoder.decode([good, invalid_utf8]) is None
    assert decoder.decode([good[:-9]]) is None  # cut short
    if cdr:
        big_endian = b"\x00\x00" + good[2:]
        assert decoder.decode([big_endian]) is None
        assert decoder.decode([good + b"\x00" * 3]) is not None  # CDR allows 3 padding bytes
        assert decoder.decode([good + b"\x00" * 4]) is None
    else:
        assert decoder.decode([good + b"\x00"]) is None  # ROS 1 messages end exactly


def test_payloads_are_not_batched_and_lists_of_leaves_are() -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    for msgtype, batched in {
        "sensor_msgs/msg/CompressedImage": False,  # its data is a side file
        "diagnostic_msgs/msg/DiagnosticArray": False,  # a sequence inside a sequence's element
        "nav_msgs/msg/Path": True,
        "sensor_msgs/msg/LaserScan": True,
    }.items():
        layout = build_layout(store, msgtype, lists_as_json=True)
        types = [arrow_type(c, store, lists_as_text=True) for c in layout.columns]
        assert (columnar_decoder(layout, store, types, cdr=False) is not None) == batched, msgtype


BATCHED_ON_REAL_BAGS = {
    ("gps-navsatfix.bag", "/gps/fix"),
    ("jackal-imu-odom.bag", "/imu/data"),
    ("jackal-imu-odom.bag", "/jackal_velocity_controller/odom"),
    ("turtlesim.bag", "/turtle1/pose"),
    ("ros2-mcap-basic", "/one_shot/twist"),
    ("ros2-sqlite3-custom", "/test_topic"),
}


def test_real_bags_decode_in_batches_exactly_as_rosbags_does() -> None:
    batched = set()
    for bag_path in sorted(BAGS.iterdir()):
        if bag_path.suffix == ".md" or bag_path.name == "licenses":
            continue
        with open_bag(bag_path) as bag:
            for stream in bag.streams:
                if stream.typestore is None or stream.decode is None:
                    continue
                store = stream.typestore
                layout = build_layout(store, stream.msgtype, lists_as_json=True)
                types = [arrow_type(c, store, lists_as_text=True) for c in layout.columns]
                decoder = columnar_decoder(layout, store, types, cdr=bag.storage != "rosbag1")
                if decoder is None:
                    continue
                raws = [bytes(raw) for _, _, raw in bag.messages([stream])]
                fast = decoder.decode(raws)
                if fast is None:
                    continue
                batched.add((bag_path.name, stream.topic))
                slow = _rosbags_columns(layout, store, raws, stream.decode)
                _assert_same(fast, slow, [c.name for c in layout.fields])
    assert batched >= BATCHED_ON_REAL_BAGS


def test_a_topic_whose_strings_change_length_is_extracted_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    imu = store.types["sensor_msgs/msg/Imu"]
    header = store.types["std_msgs/msg/Header"]
    stamp = store.types["builtin_interfaces/msg/Time"]
    vector = store.types["geometry_msgs/msg/Vector3"]
    quaternion = store.types["geometry_msgs/msg/Quaternion"]
    frames = ["imu", "imu_link", "", "imu"] * 5_000  # several batches, mixed string lengths
    bag = tmp_path / "frames.bag"
    with Writer1(bag) as writer:
        connection = writer.add_connection("/imu", "sensor_msgs/msg/Imu", typestore=store)
        for index, frame in enumerate(frames):
            message = imu(
                header=header(seq=index, stamp=stamp(sec=index, nanosec=0), frame_id=frame),
                orientation=quaternion(x=0.0, y=0.0, z=0.0, w=1.0),
                orientation_covariance=np.full(9, index, dtype=np.float64),
                angular_velocity=vector(x=index, y=0.0, z=0.0),
                angular_velocity_covariance=np.zeros(9),
                linear_acceleration=vector(x=0.0, y=0.0, z=9.81),
                linear_acceleration_covariance=np.zeros(9),
            )
            writer.write(connection, index + 1, store.serialize_ros1(message, imu.__msgtype__))

    status, _, _ = run_cli(capsys, "extract", bag, tmp_path / "out")

    assert status == 0
    assert manifest(tmp_path / "out" / "frames")["topics"][0]["messages"] == len(frames)
    rows = read_csv(tmp_path / "out" / "frames" / "imu.csv")
    assert [row["header.frame_id"] for row in rows] == frames
    assert [int(row["header.seq"]) for row in rows] == list(range(len(frames)))
    assert [float(row["orientation_covariance.8"]) for row in rows] == list(range(len(frames)))
