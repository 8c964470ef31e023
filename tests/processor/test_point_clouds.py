"""Point clouds (issue 13): PointCloud2 and PointCloud become per-message point tables
(Parquet) or binary PCD files; hostile descriptors are kept as their bytes, with a note.

The expected points are made here value by value and packed with `struct` at the offsets
the descriptor declares (row padding and gaps filled with junk), so the processor's numpy
view is checked against an independent encoding; PCD files are read back by pypcd4.
"""

from __future__ import annotations

import json
import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pypcd4.pypcd4 import PointCloud as PcdReader
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from tests.processor.helpers import extract_hostile, manifest, read_csv, run_cli

ROS1 = get_typestore(Stores.ROS1_NOETIC)
ROS2 = get_typestore(Stores.ROS2_HUMBLE)
# PointField datatypes: struct code, Arrow type, PCD TYPE and SIZE (sensor_msgs/PointField.msg).
TYPES = {
    1: ("b", pa.int8(), "I", 1),
    2: ("B", pa.uint8(), "U", 1),
    3: ("h", pa.int16(), "I", 2),
    4: ("H", pa.uint16(), "U", 2),
    5: ("i", pa.int32(), "I", 4),
    6: ("I", pa.uint32(), "U", 4),
    7: ("f", pa.float32(), "F", 4),
    8: ("d", pa.float64(), "F", 8),
}
Field = tuple[str, int, int, int]  # name, offset, datatype, count


@dataclass
class Cloud:
    fields: list[Field]
    width: int
    height: int
    point_step: int
    row_step: int
    big_endian: bool
    values: dict[str, list[list[Any]]]
    """Per field name, per point (row by row), its elements as written."""
    data: bytes


def _value(rng: random.Random, datatype: int) -> Any:
    code = TYPES[datatype][0]
    if code in "fd":
        value = rng.uniform(-1e4, 1e4)
        return struct.unpack("<f", struct.pack("<f", value))[0] if code == "f" else value
    bits = struct.calcsize(code) * 8
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if code.islower() else (0, 2**bits - 1)
    return rng.choice([low, high, 0, rng.randint(low, high)])


def make_cloud(
    fields: list[Field],
    *,
    width: int,
    height: int = 1,
    point_step: int,
    row_padding: int = 0,
    big_endian: bool = False,
    seed: int = 0,
) -> Cloud:
    """Points packed one value at a time with struct; every other byte is junk (0xA5)."""
    rng = random.Random(seed)
    row_step = width * point_step + row_padding
    data = bytearray(b"\xa5" * (row_step * height))
    order = ">" if big_endian else "<"
    values: dict[str, list[list[Any]]] = {name: [] for name, *_ in fields}
    for row in range(height):
        for column in range(width):
            base = row * row_step + column * point_step
            for name, offset, datatype, count in fields:
                code, _, _, size = TYPES[datatype]
                elements = [_value(rng, datatype) for _ in range(count)]
                for index, element in enumerate(elements):
                    struct.pack_into(order + code, data, base + offset + index * size, element)
                values[name].append(elements)
    return Cloud(fields, width, height, point_step, row_step, big_endian, values, bytes(data))


def cloud2_message(store: Any, cloud: Cloud, *, ros1: bool) -> Any:
    types = store.types
    stamp = types["builtin_interfaces/msg/Time"](sec=1, nanosec=0)
    header = (
        types["std_msgs/msg/Header"](seq=0, stamp=stamp, frame_id="lidar")
        if ros1
        else types["std_msgs/msg/Header"](stamp=stamp, frame_id="lidar")
    )
    point_field = types["sensor_msgs/msg/PointField"]
    return types["sensor_msgs/msg/PointCloud2"](
        header=header,
        height=cloud.height,
        width=cloud.width,
        fields=[point_field(name=n, offset=o, datatype=d, count=c) for n, o, d, c in cloud.fields],
        is_bigendian=cloud.big_endian,
        point_step=cloud.point_step,
        row_step=cloud.row_step,
        data=np.frombuffer(cloud.data, dtype=np.uint8),
        is_dense=False,
    )


# A lidar (x y z intensity ring t, with a gap before ring), an organized depth cloud with
# padding at each row's end, a big-endian cloud of every datatype with a count of 3, and
# PCL-style padding fields named `_`.
XYZ = [("x", 0, 7, 1), ("y", 4, 7, 1), ("z", 8, 7, 1)]
CASES: dict[str, dict[str, Any]] = {
    "/lidar": {
        "fields": [*XYZ, ("intensity", 12, 7, 1), ("ring", 18, 4, 1), ("t", 24, 8, 1)],
        "width": 50,
        "point_step": 32,
    },
    "/depth": {"fields": XYZ, "width": 5, "height": 4, "point_step": 16, "row_padding": 12},
    "/every_type": {
        "fields": [
            ("i8", 0, 1, 1),
            ("u8", 1, 2, 1),
            ("i16", 2, 3, 1),
            ("u16", 4, 4, 1),
            ("i32", 8, 5, 1),
            ("u32", 12, 6, 3),
            ("f32", 24, 7, 1),
            ("f64", 32, 8, 2),
        ],
        "width": 7,
        "height": 2,
        "point_step": 48,
        "row_padding": 5,
        "big_endian": True,
    },
    "/padded": {"fields": [*XYZ, ("_", 12, 2, 4), ("rgb", 16, 6, 1)], "width": 9, "point_step": 20},
}


def cases(seed: int) -> dict[str, Cloud]:
    return {
        topic: make_cloud(**spec, seed=seed + index)
        for index, (topic, spec) in enumerate(CASES.items())
    }


def write_bag(path: Path, kind: str, topics: dict[str, list[Any]], store: Any) -> None:
    """`topics`: per topic, its messages (at log times 10, 20, ...)."""
    if kind == "ros1":
        with Writer1(path) as writer:
            for topic, messages in topics.items():
                msgtype = type(messages[0]).__msgtype__
                connection = writer.add_connection(topic, msgtype, typestore=store)
                for index, message in enumerate(messages):
                    raw = store.serialize_ros1(message, msgtype)
                    writer.write(connection, 10 * (index + 1), raw)
        return
    plugin = StoragePlugin.MCAP if kind == "mcap" else StoragePlugin.SQLITE3
    with Writer2(path, version=9, storage_plugin=plugin) as writer:
        for topic, messages in topics.items():
            msgtype = type(messages[0]).__msgtype__
            connection = writer.add_connection(topic, msgtype, typestore=store)
            for index, message in enumerate(messages):
                writer.write(connection, 10 * (index + 1), store.serialize_cdr(message, msgtype))


def expected_columns(cloud: Cloud, separator: str = ".") -> dict[str, list[Any]]:
    """The documented columns: one per field, `name.i` per element when count > 1; `_` dropped."""
    columns: dict[str, list[Any]] = {}
    for name, _, _, count in cloud.fields:
        if name == "_":
            continue
        points = cloud.values[name]
        if count == 1:
            columns[name] = [point[0] for point in points]
        else:
            for index in range(count):
                columns[f"{name}{separator}{index}"] = [point[index] for point in points]
    return columns


def point_files(folder: Path, topic: str) -> list[Path]:
    rows = read_csv(folder / f"{topic[1:]}.csv")
    return [folder / row[_file_column(rows[0])] for row in rows]


def _file_column(row: dict[str, str]) -> str:
    return "data" if "data" in row else "points"


@pytest.mark.parametrize("kind", ["ros1", "mcap", "sqlite3"])
def test_point_tables_and_pcd_files_hold_the_points_as_the_descriptor_says(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ROS1 if kind == "ros1" else ROS2
    first, second = cases(1), cases(100)
    topics = {
        topic: [
            cloud2_message(store, c, ros1=kind == "ros1") for c in (first[topic], second[topic])
        ]
        for topic in CASES
    }
    bag = tmp_path / ("clouds.bag" if kind == "ros1" else "clouds")
    write_bag(bag, kind, topics, store)
    parquet = extract_hostile(capsys, bag, tmp_path / "p", expected_messages=8, statuses=(0,))
    pcd = extract_hostile(
        capsys,
        bag,
        tmp_path / "d",
        expected_messages=8,
        args=["--point-clouds", "pcd"],
        statuses=(0,),
    )
    assert parquet.manifest["options"]["point_clouds"] == "parquet"
    assert pcd.manifest["options"]["point_clouds"] == "pcd"
    for topic in CASES:
        for path, cloud in zip(
            point_files(parquet.folder, topic), (first[topic], second[topic]), strict=True
        ):
            assert path.suffix == ".parquet" and path.name.endswith(".data.parquet")
            table = pq.read_table(path)
            assert table.to_pydict() == expected_columns(cloud), topic
            types = {n: TYPES[d][1] for n, _, d, c in cloud.fields for n in _names(n, c)}
            assert {f.name: f.type for f in table.schema} == types
            assert table.schema.metadata == {
                b"width": str(cloud.width).encode(),
                b"height": str(cloud.height).encode(),
            }
        for path, cloud in zip(
            point_files(pcd.folder, topic), (first[topic], second[topic]), strict=True
        ):
            assert path.name.endswith(".data.pcd")
            read = PcdReader.from_path(path)
            kept = [f for f in cloud.fields if f[0] != "_"]
            meta = read.metadata
            assert meta.fields == tuple(f[0] for f in kept)
            assert meta.type == tuple(TYPES[f[2]][2] for f in kept)
            assert meta.size == tuple(TYPES[f[2]][3] for f in kept)
            assert meta.count == tuple(f[3] for f in kept)
            assert (meta.width, meta.height, meta.points) == (
                cloud.width,
                cloud.height,
                cloud.width * cloud.height,
            )
            assert meta.data.value == "binary"
            expected = expected_columns(cloud)
            data = read.pc_data
            assert data.dtype.names is not None
            assert [data[name].tolist() for name in data.dtype.names] == list(expected.values())


def pcd_header(path: Path) -> dict[str, list[str]]:
    """A PCD header's lines split at white space, as PCL reads them (pypcd4's header pattern
    takes only word characters, `.` and `-`, so it cannot read escaped names)."""
    header: dict[str, list[str]] = {}
    with path.open("rb") as file:
        for line in file:
            key, *values = line.decode("ascii").split()
            header[key] = values
            if key == "DATA":
                return header
    raise AssertionError(f"{path} has no DATA line")


def _names(name: str, count: int) -> list[str]:
    if name == "_":
        return []
    return [name] if count == 1 else [f"{name}.{i}" for i in range(count)]


def test_the_message_table_keeps_the_metadata_and_points_at_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud = cases(7)["/depth"]
    bag = tmp_path / "meta.bag"
    write_bag(bag, "ros1", {"/depth": [cloud2_message(ROS1, cloud, ros1=True)]}, ROS1)
    outcome = extract_hostile(
        capsys, bag, tmp_path, expected_messages=1, args=["--format", "parquet"], statuses=(0,)
    )
    [row] = pq.read_table(outcome.folder / "depth.parquet").drop_columns(["log_time"]).to_pylist()
    assert row["data"] == "depth.files/10.data.parquet"
    assert (row["height"], row["width"], row["point_step"], row["row_step"]) == (4, 5, 16, 92)
    assert (row["is_bigendian"], row["is_dense"], row["header.frame_id"]) == (False, False, "lidar")
    assert [f["name"] for f in row["fields"]] == ["x", "y", "z"]
    [topic] = outcome.manifest["topics"]
    assert topic["files"] == ["depth.parquet", "depth.files/"] and topic["side_files"] == 1
    assert topic["notes"] == []


@pytest.mark.parametrize(
    ("separator", "names"),
    [(".", ["n.0", "n.1", "n_0", "x", "x~2"]), ("_", ["n_0~2", "n_1", "n_0", "x", "x~2"])],
)
def test_elements_and_duplicate_names_get_distinct_columns(
    separator: str, names: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fields = [("n", 0, 4, 2), ("n_0", 4, 4, 1), ("x", 8, 7, 1), ("x", 12, 7, 1)]
    cloud = make_cloud(fields, width=3, point_step=16)
    bag = tmp_path / "names.bag"
    write_bag(bag, "ros1", {"/c": [cloud2_message(ROS1, cloud, ros1=True)]}, ROS1)
    style = "underscore" if separator == "_" else "dotted"
    outcome = extract_hostile(
        capsys, bag, tmp_path, expected_messages=1, args=["--column-names", style], statuses=(0,)
    )
    [path] = point_files(outcome.folder, "/c")
    table = pq.read_table(path)
    assert table.column_names == names
    n = cloud.values["n"]
    assert table.column(names[0]).to_pylist() == [p[0] for p in n]
    assert table.column("n_0").to_pylist() == [p[0] for p in cloud.values["n_0"]]
    # make_cloud lists both x fields' values point by point: the first x is every other one
    assert table.column("x").to_pylist() == [p[0] for p in cloud.values["x"][::2]]
    assert table.column("x~2").to_pylist() == [p[0] for p in cloud.values["x"][1::2]]


def test_untrusted_field_names_are_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long = "é" * 300
    fields = [
        ("a.b", 0, 2, 1),
        ("", 1, 2, 1),
        ("has space", 2, 2, 1),
        ("../x", 3, 2, 1),
        (long, 4, 2, 1),
    ]
    cloud = make_cloud(fields, width=2, point_step=5)
    bag = tmp_path / "weird.bag"
    write_bag(bag, "ros1", {"/c": [cloud2_message(ROS1, cloud, ros1=True)]}, ROS1)
    for points in ("parquet", "pcd"):
        outcome = extract_hostile(
            capsys,
            bag,
            tmp_path / points,
            expected_messages=1,
            args=["--point-clouds", points],
            statuses=(0,),
        )
        [path] = point_files(outcome.folder, "/c")
        names = (
            pq.read_table(path).column_names if points == "parquet" else pcd_header(path)["FIELDS"]
        )
        assert names[:4] == ["a%2Eb", "~", "has%20space", "%2E%2E%2Fx"]
        assert len(names[4].encode()) <= 200 and names[4].startswith("%C3%A9")
        assert all(" " not in name and "/" not in name for name in names)


def _hostile(fields: list[Field], **sizes: int) -> Any:
    point_field = ROS1.types["sensor_msgs/msg/PointField"]
    width, height = sizes.get("width", 2), sizes.get("height", 1)
    point_step = sizes.get("point_step", 8)
    row_step = sizes.get("row_step", width * point_step)
    length = sizes.get("length", row_step * height)
    return ROS1.types["sensor_msgs/msg/PointCloud2"](
        header=ROS1.types["std_msgs/msg/Header"](
            seq=0, stamp=ROS1.types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id=""
        ),
        height=height,
        width=width,
        fields=[point_field(name=n, offset=o, datatype=d, count=c) for n, o, d, c in fields],
        is_bigendian=False,
        point_step=point_step,
        row_step=row_step,
        data=np.arange(length, dtype=np.uint8),
        is_dense=True,
    )


HOSTILE = {
    "/unknown_type": (_hostile([("x", 0, 9, 1)]), "a field's datatype is 9, not one of 1-8"),
    "/overlap": (_hostile([("x", 0, 7, 1), ("y", 2, 7, 1)]), "fields overlap"),
    "/past_step": (_hostile([("x", 0, 7, 1), ("y", 6, 7, 1)]), "a field ends past point_step"),
    "/count_past_step": (_hostile([("x", 0, 7, 2**32 - 1)]), "a field ends past point_step"),
    "/short": (_hostile(XYZ[:2], length=15), "data is not row_step x height bytes"),
    "/long": (_hostile(XYZ[:2], length=17), "data is not row_step x height bytes"),
    "/row_step": (_hostile(XYZ[:2], row_step=12), "row_step is less than width x point_step"),
    "/count_zero": (_hostile([("x", 0, 7, 0)]), "a field's count is 0"),
    "/no_fields": (_hostile([]), "no fields describe the points"),
    "/too_many": (
        _hostile([("h", 0, 2, 1025)], point_step=1025),
        "the fields have more than 1024 elements (columns)",
    ),
    "/only_padding": (_hostile([("_", 0, 2, 8)]), "no fields describe the points"),
}


@pytest.mark.parametrize("points", ["parquet", "pcd"])
def test_clouds_the_descriptor_cannot_read_are_kept_as_their_bytes_with_a_note(
    points: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = cloud2_message(ROS1, cases(3)["/lidar"], ros1=True)
    topics = {topic: [message, good] for topic, (message, _) in HOSTILE.items()}
    bag = tmp_path / "hostile.bag"
    write_bag(bag, "ros1", topics, ROS1)
    outcome = extract_hostile(
        capsys,
        bag,
        tmp_path,
        expected_messages=2 * len(HOSTILE),
        args=["--point-clouds", points],
        statuses=(0,),
    )
    entries = {t["topic"]: t for t in outcome.manifest["topics"]}
    for topic, (message, reason) in HOSTILE.items():
        kept, converted = point_files(outcome.folder, topic)
        assert kept.name == "10.data.bin" and kept.read_bytes() == message.data.tobytes(), topic
        assert converted.suffix == f".{points}", topic
        [note] = entries[topic]["notes"]
        assert note["messages"] == 1
        assert note["note"].startswith(
            "point clouds kept as .bin, exactly their bytes: " + reason
        ), topic
        assert f"{topic}: 1 message: point clouds kept as .bin" in outcome.err


def test_a_point_cloud2_defined_otherwise_in_the_bag_is_flattened_as_any_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_typestore(Stores.EMPTY)
    store.register(
        get_types_from_msg("uint32 width\nuint8[] data\n", "sensor_msgs/msg/PointCloud2")
    )
    message = store.types["sensor_msgs/msg/PointCloud2"](width=3, data=np.arange(4, dtype=np.uint8))
    bag = tmp_path / "other.bag"
    write_bag(bag, "ros1", {"/c": [message]}, store)
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=1, statuses=(0,))
    [path] = point_files(outcome.folder, "/c")
    assert path.name == "10.data.bin" and path.read_bytes() == bytes(range(4))


def _point_cloud(
    points: Sequence[tuple[float, float, float]],
    channels: dict[str, list[float]],
    store: Any = ROS1,
) -> Any:
    types = store.types
    stamp = types["builtin_interfaces/msg/Time"](sec=1, nanosec=0)
    header = (
        types["std_msgs/msg/Header"](seq=0, stamp=stamp, frame_id="f")
        if store is ROS1
        else types["std_msgs/msg/Header"](stamp=stamp, frame_id="f")
    )
    return types["sensor_msgs/msg/PointCloud"](
        header=header,
        points=[types["geometry_msgs/msg/Point32"](x=x, y=y, z=z) for x, y, z in points],
        channels=[
            types["sensor_msgs/msg/ChannelFloat32"](name=n, values=np.array(v, dtype=np.float32))
            for n, v in channels.items()
        ],
    )


@pytest.mark.parametrize(
    ("kind", "points"), [("ros1", "parquet"), ("ros1", "pcd"), ("mcap", "parquet")]
)
def test_point_cloud_points_and_channels_become_one_table(
    kind: str, points: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # sensor_msgs/PointCloud is ROS 1's, and still in ROS 2's sensor_msgs (deprecated).
    store = ROS1 if kind == "ros1" else ROS2
    xyz = [(1.5, -2.0, 3.25), (0.0, 1e-3, -7.0), (4.0, 5.0, 6.0)]
    good = _point_cloud(xyz, {"intensity": [0.5, 1.0, 2.0], "ring": [9.0, 8.0, 7.0]}, store)
    mismatched = _point_cloud(xyz, {"intensity": [0.5]}, store)
    empty = _point_cloud([], {}, store)
    bag = tmp_path / ("legacy.bag" if kind == "ros1" else "legacy")
    write_bag(bag, kind, {"/legacy": [good, mismatched, empty]}, store)
    outcome = extract_hostile(
        capsys, bag, tmp_path, expected_messages=3, args=["--point-clouds", points], statuses=(0,)
    )
    rows = read_csv(outcome.folder / "legacy.csv")
    assert "channels" not in rows[0]
    table_path, kept, nothing = (row["points"] for row in rows)
    assert nothing == ""
    f32 = [[float(np.float32(v)) for v in point] for point in xyz]
    expected = {
        "x": [p[0] for p in f32],
        "y": [p[1] for p in f32],
        "z": [p[2] for p in f32],
        "intensity": [0.5, 1.0, 2.0],
        "ring": [9.0, 8.0, 7.0],
    }
    if points == "parquet":
        assert pq.read_table(outcome.folder / table_path).to_pydict() == expected
    else:
        data = PcdReader.from_path(outcome.folder / table_path).pc_data
        assert data.dtype.names == tuple(expected)
        assert {name: data[name].tolist() for name in expected} == expected
    assert kept.endswith("20.points.json")
    assert json.loads((outcome.folder / kept).read_text()) == {
        "points": f32,
        "channels": [{"name": "intensity", "values": [0.5]}],
    }
    [note] = manifest(outcome.folder)["topics"][0]["notes"]
    assert note == {
        "note": "point clouds kept as JSON (points and channels as recorded): "
        "a channel does not hold one value per point",
        "messages": 1,
    }


def test_a_mismatched_point_cloud_with_non_finite_points_is_kept_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # NaN marks an invalid point (common in lidar drivers); infinities too. The JSON side
    # file spells them as the CSV list cells do ("NaN", "Infinity", "-Infinity").
    nan, inf = float("nan"), float("inf")
    cloud = _point_cloud([(nan, 1.0, inf), (-inf, 2.0, 3.0)], {"intensity": [nan]})
    bag = tmp_path / "nan.bag"
    write_bag(bag, "ros1", {"/legacy": [cloud]}, ROS1)
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=1, statuses=(0,))
    [kept] = (row["points"] for row in read_csv(outcome.folder / "legacy.csv"))
    assert kept.endswith("10.points.json")
    assert json.loads((outcome.folder / kept).read_text()) == {
        "points": [["NaN", 1.0, "Infinity"], ["-Infinity", 2.0, 3.0]],
        "channels": [{"name": "intensity", "values": ["NaN"]}],
    }
    [note] = manifest(outcome.folder)["topics"][0]["notes"]
    assert note["messages"] == 1


def test_a_channel_named_like_an_axis_gets_its_own_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "axis.bag"
    write_bag(bag, "ros1", {"/legacy": [_point_cloud([(1.0, 2.0, 3.0)], {"x": [4.0]})]}, ROS1)
    for points in ("parquet", "pcd"):
        outcome = extract_hostile(
            capsys, bag, tmp_path / points, expected_messages=1, args=["--point-clouds", points]
        )
        [path] = point_files(outcome.folder, "/legacy")
        if points == "parquet":
            assert pq.read_table(path).to_pydict() == {
                "x": [1.0],
                "y": [2.0],
                "z": [3.0],
                "x~2": [4.0],
            }
        else:
            assert pcd_header(path)["FIELDS"] == ["x", "y", "z", "x~2"]
            assert path.read_bytes().endswith(np.array([1, 2, 3, 4], "<f4").tobytes())


def test_shards_merge_to_the_point_files_of_one_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clouds = [cloud2_message(ROS1, cases(seed)["/lidar"], ros1=True) for seed in range(4)]
    bag = tmp_path / "drive.bag"
    write_bag(bag, "ros1", {"/lidar": clouds}, ROS1)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert run_cli(capsys, "extract", bag, whole, "--point-clouds", "pcd")[0] == 0
    for index in (1, 2):
        args = ("extract", bag, parts, "--point-clouds", "pcd", "--shard", f"{index}/2")
        assert run_cli(capsys, *args)[0] == 0
    assert run_cli(capsys, "merge", bag, parts, "--shards", "2")[0] == 0
    one, merged = manifest(whole / "drive"), manifest(parts / "drive")
    assert merged["options"] == one["options"] and one["options"]["point_clouds"] == "pcd"
    names = sorted(p.name for p in (whole / "drive" / "lidar.files").iterdir())
    assert names == ["10.data.pcd", "20.data.pcd", "30.data.pcd", "40.data.pcd"]
    for name in names:
        a = (whole / "drive" / "lidar.files" / name).read_bytes()
        assert a == (parts / "drive" / "lidar.files" / name).read_bytes()


def test_invalid_points_of_an_organized_cloud_are_kept_bit_for_bit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A depth camera's cloud: is_dense false, NaN where there was no return; -0.0 and
    # infinities stay what they are.
    x = np.array([np.nan, 1.0, np.inf, -0.0, -np.inf, 2.5], dtype=">f4")
    cloud = Cloud([("x", 0, 7, 1)], 3, 2, 4, 12, True, {}, x.tobytes())
    bag = tmp_path / "depth.bag"
    write_bag(bag, "ros1", {"/depth": [cloud2_message(ROS1, cloud, ros1=True)]}, ROS1)
    for points in ("parquet", "pcd"):
        outcome = extract_hostile(
            capsys, bag, tmp_path / points, expected_messages=1, args=["--point-clouds", points]
        )
        [path] = point_files(outcome.folder, "/depth")
        if points == "parquet":
            read = pq.read_table(path).column("x").to_numpy()
        else:
            read = PcdReader.from_path(path).pc_data["x"]
            assert pcd_header(path)["WIDTH"] == ["3"] and pcd_header(path)["HEIGHT"] == ["2"]
        assert read.astype("<f4").tobytes() == x.astype("<f4").tobytes()


def test_an_unknown_point_cloud_form_is_a_command_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        run_cli(capsys, "extract", tmp_path / "a.bag", tmp_path, "--point-clouds", "ply")
    assert stop.value.code == 2
    assert "--point-clouds: invalid choice: 'ply'" in capsys.readouterr().err
