"""Bags built by hand to break the processor (issue 16): each must neither destroy data, hide
messages nor fail healthy topics. Every case goes through `extract_hostile`, which checks
that nothing outside OUTDIR/<bag> changes, every message is accounted for, every table reads
with pyarrow and the exit status is 0 or 3."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from processor.cli import main
from processor.names import topic_stem
from tests.processor.helpers import extract_hostile, read_csv, read_table

NOETIC = get_typestore(Stores.ROS1_NOETIC)
STAMP = NOETIC.types["builtin_interfaces/msg/Time"](sec=1, nanosec=0)
HEADER = NOETIC.types["std_msgs/msg/Header"](seq=0, stamp=STAMP, frame_id="f")
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
Message = tuple[int, Any]  # log time, and a message or its raw bytes


def compressed(data: bytes = JPEG) -> Any:
    return NOETIC.types["sensor_msgs/msg/CompressedImage"](
        header=HEADER, format="jpeg", data=np.frombuffer(data, dtype=np.uint8)
    )


def uint32(value: int) -> Any:
    return NOETIC.types["std_msgs/msg/UInt32"](data=value)


def write_ros1(path: Path, topics: dict[str, Iterable[Message]]) -> int:
    """A ROS 1 bag with the built-in Noetic types; returns how many messages it holds."""
    count = 0
    with Writer1(path) as writer:
        connections: dict[str, Any] = {}
        for topic, messages in topics.items():
            for log_time, message in messages:
                if isinstance(message, bytes):  # raw bytes of the type in the topic's name
                    raw, msgtype = message, "sensor_msgs/msg/CompressedImage"
                else:
                    msgtype = type(message).__msgtype__
                    raw = NOETIC.serialize_ros1(message, msgtype)
                if topic not in connections:
                    connections[topic] = writer.add_connection(topic, msgtype, typestore=NOETIC)
                writer.write(connections[topic], log_time, raw)
                count += 1
    return count


def frames_and_one_bad(count: int = 3) -> list[Message]:
    """Camera frames and one message that contradicts the definition (cut short)."""
    messages: list[Message] = [(10 + i, compressed()) for i in range(count)]
    messages.append((20, b"\x00\x00\x00\x00short"))
    return messages


# rosbags' writer folds repeated slashes (`//` is written as `/`): tests/processor/test_names.py
# covers those names.
@pytest.mark.parametrize("topic", ["/..", "/.", "/../..", "/", "/a/../../b"])
def test_dot_topics_stay_inside_the_bag_folder(
    topic: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "dots.bag"
    total = write_ros1(
        bag,
        {topic: frames_and_one_bad(), "/count": [(10 + i, uint32(i)) for i in range(4)]},
    )
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=total)
    assert outcome.status == 3
    assert [r["data"] for r in read_csv(outcome.folder / "count.csv")] == ["0", "1", "2", "3"]
    [entry] = [t for t in outcome.manifest["topics"] if t["topic"] == topic]
    assert entry["messages"] == 3 and entry["bad_messages"] == 1
    side = outcome.folder / entry["files"][1]
    assert side.parent == outcome.folder and len(list(side.iterdir())) == 3


def test_long_topic_names_get_bounded_stable_file_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_a, long_b = "/" + "a" * 300, "/" + "a" * 299 + "b"  # equal for their first 299
    unicode = "/" + "ü" * 200  # 400 bytes of UTF-8
    bag = tmp_path / "long.bag"
    total = write_ros1(
        bag,
        {
            long_a: [(10, compressed())],
            long_b: [(10, compressed())],
            unicode: [(10, uint32(1))],
        },
    )
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=total)
    assert outcome.status == 0
    names = {t["topic"]: t["name"] for t in outcome.manifest["topics"]}
    assert len(set(names.values())) == 3
    for topic, name in names.items():
        assert name == topic_stem(topic)
        assert len(name.encode()) <= 200


@pytest.mark.parametrize(
    "topics",
    [
        ["/cam", "/cam/csv"],  # /cam/csv's frames folder against /cam's table
        ["/cam/parquet", "/cam"],
        ["/info/json", "/info/txt", "/manifest/json", "/_SUCCESS"],  # the output's own files
        ["/cam.image", "/cam/image"],  # one table name for two topics
    ],
)
def test_topic_names_that_collide_with_other_files(
    topics: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "collide.bag"
    total = write_ros1(bag, {topic: [(10, compressed()), (11, compressed())] for topic in topics})
    for fmt in ("csv", "parquet"):
        outcome = extract_hostile(
            capsys, bag, tmp_path / fmt, expected_messages=total, args=["--format", fmt]
        )
        assert outcome.status == 0
        assert sorted(t["topic"] for t in outcome.manifest["topics"]) == sorted(topics)
        assert (outcome.folder / "info.json").is_file() and (outcome.folder / "_SUCCESS").is_file()


def test_each_topic_keeps_its_file_names_whatever_else_the_bag_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alone, together = tmp_path / "alone.bag", tmp_path / "together.bag"
    write_ros1(alone, {"/cam/image": [(10, compressed())]})
    write_ros1(together, {"/cam.image": [(10, compressed())], "/cam/image": [(10, compressed())]})
    outcomes = [
        extract_hostile(capsys, bag, tmp_path / bag.stem, expected_messages=n)
        for bag, n in ((alone, 1), (together, 2))
    ]
    files = [{t["topic"]: t["files"] for t in o.manifest["topics"]} for o in outcomes]
    assert files[0]["/cam/image"] == files[1]["/cam/image"] == ["cam.image.csv", "cam.image.files/"]
    assert files[1]["/cam.image"] == ["cam%2Eimage.csv", "cam%2Eimage.files/"]


@pytest.mark.parametrize("name", ["..bag", "...bag", ".hidden.bag"])
def test_bag_names_that_cannot_name_an_output_folder_are_refused(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in").mkdir()
    bag = tmp_path / "in" / name
    write_ros1(bag, {"/count": [(10, uint32(1))]})
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=1, statuses=(2,))
    assert len(outcome.err.strip().splitlines()) == 1 and "rename the bag" in outcome.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["neighbour"]


def test_a_bag_name_of_250_bytes_is_extracted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / ("b" * 250 + ".bag")  # its hidden staging folder's name would be longer
    total = write_ros1(bag, {"/count": [(10, uint32(1))], "/cam": [(10, compressed())]})
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=total)
    assert outcome.status == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["b" * 250, "neighbour"]
    for index in (1, 2):
        assert main(["extract", str(bag), str(tmp_path / "sharded"), "--shard", f"{index}/2"]) == 0
    assert main(["merge", str(bag), str(tmp_path / "sharded"), "--shards", "2"]) == 0
    assert [p.name for p in (tmp_path / "sharded").iterdir()] == ["b" * 250]


def raw_image(width: int, height: int, step: int, data: bytes, encoding: str = "rgb8") -> Any:
    return NOETIC.types["sensor_msgs/msg/Image"](
        header=HEADER,
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=step,
        data=np.frombuffer(data, dtype=np.uint8),
    )


@pytest.mark.parametrize(
    ("width", "height", "step", "size", "problem"),
    [
        (4, 2, 6, 12, "step is less than width x bytes per pixel"),  # step < 4 x 3
        (4, 2, 12, 30, "data is not step x height bytes"),  # 6 bytes beyond step x height
        (4, 2, 12, 20, "data is not step x height bytes"),  # 4 bytes short
    ],
)
def test_a_malformed_raw_frame_is_kept_exactly_and_noted(
    width: int,
    height: int,
    step: int,
    size: int,
    problem: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = raw_image(4, 2, 12, bytes(range(24)))
    bad_bytes = bytes(range(100, 100 + size))
    bag = tmp_path / "frames.bag"
    total = write_ros1(
        bag,
        {
            "/camera": [(10, good), (11, raw_image(width, height, step, bad_bytes)), (12, good)],
            "/count": [(10, uint32(1))],
        },
    )
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=total)
    assert outcome.status == 0
    camera = next(t for t in outcome.manifest["topics"] if t["topic"] == "/camera")
    assert camera["messages"] == 3
    assert camera["notes"] == [
        {"note": f"frames kept as .bin, exactly their bytes: {problem}", "messages": 1}
    ]
    paths = [row["data"] for row in read_csv(outcome.folder / "camera.csv")]
    assert [Path(p).suffix for p in paths] == [".png", ".bin", ".png"]
    assert (outcome.folder / paths[1]).read_bytes() == bad_bytes
    # stderr agrees with the manifest (complete, exit 0): the note is a note, not PARTIAL.
    assert outcome.manifest["status"] == "complete"
    assert "PARTIAL" not in outcome.err and "problem" not in outcome.err
    assert ": complete: 2 tables in " in outcome.err
    note = f"/camera: 1 message: frames kept as .bin, exactly their bytes: {problem}"
    assert f"note: {note}" in outcome.err
    info = json.loads((outcome.folder / "info.json").read_text())
    assert info["problems"] == [] and note in info["notes"]
    assert f"note:        {note}" in (outcome.folder / "info.txt").read_text()


def _crashed_sqlite_bag(tmp_path: Path, *, with_metadata: bool) -> tuple[Path, int]:
    """A ROS 2 sqlite3 bag whose recorder died with WAL journaling: 1 000 of its 5 400
    committed messages are still in `<name>.db3-wal` (as rosbag2's sqlite3 plugin leaves
    them), and metadata.yaml, if any, was written before them."""
    store = get_typestore(Stores.ROS2_HUMBLE)
    work = tmp_path / "recording"
    with Writer2(work, version=9, storage_plugin=StoragePlugin.SQLITE3) as writer:
        a = writer.add_connection("/a", "std_msgs/msg/UInt32", typestore=store)
        b = writer.add_connection("/b", "std_msgs/msg/UInt32", typestore=store)
        for index in range(4_400):
            raw = store.serialize_cdr(
                store.types["std_msgs/msg/UInt32"](data=index), "std_msgs/msg/UInt32"
            )
            writer.write(a if index % 4 else b, 10 + index, raw)
    [db3] = work.glob("*.db3")
    bag = tmp_path / "in" / "crashed"
    bag.mkdir(parents=True)
    db = sqlite3.connect(db3)
    assert db.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    db.execute("PRAGMA wal_autocheckpoint=0")
    with db:  # committed, still only in the WAL when the recorder dies
        db.execute(
            "INSERT INTO messages (topic_id, timestamp, data) "
            "SELECT topic_id, timestamp + 10000, data FROM messages ORDER BY id LIMIT 1000"
        )
    for name in (db3.name, f"{db3.name}-wal"):
        shutil.copyfile(work / name, bag / name)  # what is on disk after a crash
    db.close()
    if with_metadata:
        shutil.copyfile(work / "metadata.yaml", bag / "metadata.yaml")
        return bag, 5_400
    return bag / db3.name, 5_400


@pytest.mark.parametrize("with_metadata", [False, True], ids=["bare-db3", "bag-folder"])
def test_committed_rows_in_a_wal_file_are_read(
    with_metadata: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag, total = _crashed_sqlite_bag(tmp_path, with_metadata=with_metadata)
    folder = bag if bag.is_dir() else bag.parent
    assert next(folder.glob("*.db3-wal")).stat().st_size > 0
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=total)
    assert outcome.status == 0
    assert {t["topic"]: t["messages"] for t in outcome.manifest["topics"]} == {
        "/a": 4_050,
        "/b": 1_350,
    }
    assert any("-wal" in note for note in outcome.manifest["notes"])


def custom_store(definitions: dict[str, str]) -> Any:
    """The Noetic typestore plus custom types given as .msg text."""
    store = get_typestore(Stores.ROS1_NOETIC)
    for msgtype, text in definitions.items():
        store.register(get_types_from_msg(text, msgtype))
    return store


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_field_named_like_the_time_columns_gets_its_own_column(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    msgtype = "hostile_msgs/msg/Stamped"
    store = custom_store(
        {msgtype: "uint64 log_time_ns\nint32 log_time\nfloat64 log_time_ns__2\nstring x\n"}
    )
    cls = store.types[msgtype]
    bag = tmp_path / "names.bag"
    with Writer1(bag) as writer:
        connection = writer.add_connection("/stamped", msgtype, typestore=store)
        for index in range(3):
            message = cls(log_time_ns=7, log_time=-index, log_time_ns__2=0.5, x="x")
            writer.write(connection, 100 + index, store.serialize_ros1(message, msgtype))
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=3, args=["--format", fmt])
    assert outcome.status == 0
    table = read_table(outcome.folder / f"stamped.{fmt}").drop_columns(["log_time"]).to_pydict()
    assert table["log_time_ns"] == [100, 101, 102]
    assert table["log_time_ns~2"] == [7, 7, 7]  # the field, after the processor's column
    assert table["log_time~2"] == [0, -1, -2]
    assert table["log_time_ns__2"] == [0.5, 0.5, 0.5]  # a field keeps its own name
    assert len(table) == len(set(table))


def test_lists_of_messages_hold_the_same_fields_in_csv_and_parquet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    field = NOETIC.types["sensor_msgs/msg/PointField"]
    cloud = NOETIC.types["sensor_msgs/msg/PointCloud2"](
        header=HEADER,
        height=1,
        width=1,
        fields=[field(name="x", offset=0, datatype=7, count=1)],
        is_bigendian=False,
        point_step=4,
        row_step=4,
        data=np.zeros(4, dtype=np.uint8),
        is_dense=True,
    )
    bag = tmp_path / "cloud.bag"
    write_ros1(bag, {"/cloud": [(10, cloud)]})
    csv_rows = read_csv(
        extract_hostile(capsys, bag, tmp_path / "c", expected_messages=1).folder / "cloud.csv"
    )
    parquet = extract_hostile(
        capsys, bag, tmp_path / "p", expected_messages=1, args=["--format", "parquet"]
    )
    [from_parquet] = read_table(parquet.folder / "cloud.parquet").column("fields").to_pylist()
    expected = [{"name": "x", "offset": 0, "datatype": 7, "count": 1}]  # no INT8... constants
    assert json.loads(csv_rows[0]["fields"]) == from_parquet == expected


def test_arrays_of_arrays_do_not_multiply_into_a_hundred_thousand_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found by tests/processor/test_fuzz.py: 62 x 53 x 58 fixed-size elements would be
    # 190 000 columns; the run took minutes per message.
    store = custom_store(
        {
            "hostile_msgs/msg/Leaf": "string[58] names\nint8 x\n",
            "hostile_msgs/msg/Middle": "hostile_msgs/Leaf[53] leaves\n",
            "hostile_msgs/msg/Top": "hostile_msgs/Middle[62] middles\nfloat64[3] v\n",
        }
    )
    msgtype = "hostile_msgs/msg/Top"
    leaf = store.types["hostile_msgs/msg/Leaf"](names=["n"] * 58, x=1)
    middle = store.types["hostile_msgs/msg/Middle"](leaves=[leaf] * 53)
    top = store.types[msgtype](middles=[middle] * 62, v=np.array([1.0, 2.0, 3.0]))
    bag = tmp_path / "wide.bag"
    with Writer1(bag) as writer:
        connection = writer.add_connection("/wide", msgtype, typestore=store)
        for index in range(3):
            writer.write(connection, 10 + index, store.serialize_ros1(top, msgtype))
    for fmt in ("csv", "parquet"):
        outcome = extract_hostile(
            capsys, bag, tmp_path / fmt, expected_messages=3, args=["--format", fmt]
        )
        assert outcome.status == 0
        table = read_table(outcome.folder / f"wide.{fmt}")
        assert table.num_columns <= 1024 + 2
        assert table.column_names[2:] == ["middles", "v.0", "v.1", "v.2"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_fixed_arrays_of_one_element(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    msgtype = "hostile_msgs/msg/Tiny"  # found by tests/processor/test_fuzz.py (bool[1])
    store = custom_store({msgtype: "bool[1] one\nfloat64[1] f\nint8 x\n"})
    message = store.types[msgtype](one=np.array([True]), f=np.array([2.5]), x=3)
    bag = tmp_path / "tiny.bag"
    with Writer1(bag) as writer:
        connection = writer.add_connection("/tiny", msgtype, typestore=store)
        writer.write(connection, 10, store.serialize_ros1(message, msgtype))
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=1, args=["--format", fmt])
    assert outcome.status == 0
    table = read_table(outcome.folder / f"tiny.{fmt}").drop_columns(["log_time"])
    assert table.to_pylist() == [{"log_time_ns": 10, "one.0": True, "f.0": 2.5, "x": 3}]


def test_batched_tables_with_mixed_lengths_empty_messages_and_two_connections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = custom_store({"hostile_msgs/msg/Nothing": "int32 ONLY_A_CONSTANT=1\n"})  # 0 bytes
    bag = tmp_path / "mixed.bag"
    string = NOETIC.types["std_msgs/msg/String"]
    with Writer1(bag) as writer:
        nothing = writer.add_connection("/nothing", "hostile_msgs/msg/Nothing", typestore=store)
        first = writer.add_connection("/count", "std_msgs/msg/UInt32", typestore=NOETIC)
        second = writer.add_connection(
            "/count", "std_msgs/msg/UInt32", typestore=NOETIC, callerid="/other"
        )
        words = writer.add_connection("/words", "std_msgs/msg/String", typestore=NOETIC)
        for index in range(6):
            writer.write(nothing, 10 + index, b"")
            connection = first if index % 2 else second
            raw = NOETIC.serialize_ros1(uint32(index), "std_msgs/msg/UInt32")
            writer.write(connection, 10 + index, raw)
            text = NOETIC.serialize_ros1(string(data="x" * index), "std_msgs/msg/String")
            writer.write(words, 10 + index, text)
    outcome = extract_hostile(capsys, bag, tmp_path, expected_messages=18)
    assert outcome.status == 0
    assert [r["data"] for r in read_csv(outcome.folder / "count.csv")] == [str(i) for i in range(6)]
    assert [r["data"] for r in read_csv(outcome.folder / "words.csv")] == [
        "x" * i for i in range(6)
    ]
    assert len(read_csv(outcome.folder / "nothing.csv")) == 6
