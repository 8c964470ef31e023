"""Undecodable topics are skipped loudly (exit 3); unreadable bags fail cleanly (exit 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rosbags.rosbag1 import Reader as Reader1
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_types_from_idl, get_typestore

from processor import run
from tests.processor.helpers import BAGS, assert_cell, direct_messages, manifest, read_csv, run_cli

NOETIC = get_typestore(Stores.ROS1_NOETIC)


def _assert_failed_cleanly(outdir: Path, status: int, err: str) -> None:
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("processor: error: ")
    assert not outdir.exists() or not any(outdir.iterdir())  # no output, no leftovers


def test_empty_definition_is_skipped_with_its_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run_cli(capsys, "extract", BAGS / "empty-definition.bag", tmp_path)
    assert status == 3
    folder = tmp_path / "empty-definition"
    document = manifest(folder)
    assert document["status"] == "partial" and document["topics"] == []
    [skipped] = document["skipped"]
    with Reader1(BAGS / "empty-definition.bag") as reader:  # the count the bag declares
        assert skipped["messages"] == reader.message_count == 14
    assert skipped["topic"] == "/led_array_status"
    assert "empty definition" in skipped["reason"]
    assert (folder / "_SUCCESS").is_file()
    assert not list(folder.glob("*.csv"))


def test_other_topics_survive_an_undecodable_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mixed = tmp_path / "mixed.bag"
    with (
        Reader1(BAGS / "empty-definition.bag") as broken,
        Reader1(BAGS / "turtlesim.bag") as good,
        Writer1(mixed) as writer,
    ):
        [empty] = broken.connections
        pose = next(c for c in good.connections if c.topic == "/turtle1/pose")
        out_empty = writer.add_connection(
            empty.topic, empty.msgtype, msgdef="", md5sum=empty.digest
        )
        out_pose = writer.add_connection(
            pose.topic, pose.msgtype, msgdef=pose.msgdef.data, md5sum=pose.digest
        )
        for _, timestamp, raw in broken.messages():
            writer.write(out_empty, timestamp, raw)
        for _, timestamp, raw in good.messages([pose]):
            writer.write(out_pose, timestamp, raw)
    status, _, _ = run_cli(capsys, "extract", mixed, tmp_path / "out")
    assert status == 3
    document = manifest(tmp_path / "out" / "mixed")
    assert [(t["topic"], t["messages"]) for t in document["topics"]] == [("/turtle1/pose", 1344)]
    assert [(s["topic"], s["messages"]) for s in document["skipped"]] == [("/led_array_status", 14)]
    rows = read_csv(tmp_path / "out" / "mixed" / "turtle1.pose.csv")
    expected = direct_messages(BAGS / "turtlesim.bag")["/turtle1/pose"]
    assert len(rows) == len(expected)
    for row, (_, message) in zip(rows, expected, strict=True):
        assert_cell(row["x"], message.x, "x")


def test_message_that_contradicts_its_definition_is_counted_and_the_rest_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "bad-message.bag"
    string = NOETIC.types["std_msgs/msg/String"]
    with Writer1(bag) as writer:
        chatter = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=NOETIC)
        count = writer.add_connection("/count", "std_msgs/msg/UInt32", typestore=NOETIC)
        uint32 = NOETIC.types["std_msgs/msg/UInt32"]
        for index in range(5):
            writer.write(
                chatter,
                10 + index,
                NOETIC.serialize_ros1(string(data=f"m{index}"), "std_msgs/msg/String"),
            )
            writer.write(
                count, 10 + index, NOETIC.serialize_ros1(uint32(data=index), "std_msgs/msg/UInt32")
            )
        writer.write(chatter, 20, b"\xff\xff\x00\x00short")  # claims 65535 bytes, has 5
    status, _, _ = run_cli(capsys, "extract", bag, tmp_path / "out")
    assert status == 3
    folder = tmp_path / "out" / "bad-message"
    document = manifest(folder)
    assert document["skipped"] == [] and document["status"] == "partial"
    chatter = next(t for t in document["topics"] if t["topic"] == "/chatter")
    assert (chatter["messages"], chatter["bad_messages"]) == (5, 1)
    [example] = chatter["bad_examples"]
    assert example["log_time_ns"] == 20 and "log time 20 ns" in example["reason"]
    assert [r["data"] for r in read_csv(folder / "chatter.csv")] == [f"m{i}" for i in range(5)]
    assert [r["data"] for r in read_csv(folder / "count.csv")] == ["0", "1", "2", "3", "4"]


def test_a_topic_none_of_whose_messages_decode_is_skipped_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "all-bad.bag"
    with Writer1(bag) as writer:
        chatter = writer.add_connection("/chatter", "std_msgs/msg/String", typestore=NOETIC)
        for index in range(3):
            writer.write(chatter, 10 + index, b"\xff\xff\x00\x00short")
    assert run_cli(capsys, "extract", bag, tmp_path / "out")[0] == 3
    document = manifest(tmp_path / "out" / "all-bad")
    assert document["topics"] == []
    [skipped] = document["skipped"]
    assert skipped["messages"] == 3 and "no message matches" in skipped["reason"]
    assert not (tmp_path / "out" / "all-bad" / "chatter.csv").exists()


def test_definition_that_contradicts_its_md5_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "wrong-definition.bag"
    msgdef, _ = NOETIC.generate_msgdef("geometry_msgs/msg/Vector3")
    _, md5 = NOETIC.generate_msgdef("geometry_msgs/msg/Quaternion")
    with Writer1(bag) as writer:
        conn = writer.add_connection("/p", "geometry_msgs/msg/Point", msgdef=msgdef, md5sum=md5)
        writer.write(conn, 1, bytes(24))
    status, _, _ = run_cli(capsys, "extract", bag, tmp_path / "out")
    assert status == 3
    [skipped] = manifest(tmp_path / "out" / "wrong-definition")["skipped"]
    assert skipped["messages"] == 1 and "does not match the hash" in skipped["reason"]


def test_bag_cut_short_fails_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (BAGS / "jackal-imu-odom.bag").read_bytes()
    cut = tmp_path / "in" / "cut.bag"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) * 6 // 10])
    status, _, err = run_cli(capsys, "extract", cut, tmp_path / "out")
    _assert_failed_cleanly(tmp_path / "out", status, err)
    assert "cut.bag" in err


def test_corrupt_chunk_fails_with_exit_2_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray((BAGS / "jackal-imu-odom.bag").read_bytes())
    with Reader1(BAGS / "jackal-imu-odom.bag") as reader:
        chunk = list(reader.chunks.values())[2]
    for offset in range(chunk.datapos + 100, chunk.datapos + 400):
        data[offset] ^= 0x5A
    bag = tmp_path / "corrupt.bag"
    bag.write_bytes(bytes(data))
    status, _, err = run_cli(capsys, "extract", bag, tmp_path / "out")
    _assert_failed_cleanly(tmp_path / "out", status, err)
    assert "damaged" in err


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.bag", b""), ("notes.txt", b"hello\n"), ("fake.db3", b"not sqlite at all\n")],
)
def test_not_a_bag_fails_with_exit_2(
    name: str, content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    status, _, err = run_cli(capsys, "extract", path, tmp_path / "out")
    _assert_failed_cleanly(tmp_path / "out", status, err)


def test_missing_bag_and_folder_without_metadata_fail_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(capsys, "extract", tmp_path / "missing.bag", tmp_path / "out")
    _assert_failed_cleanly(tmp_path / "out", status, err)
    (tmp_path / "folder").mkdir()
    status, _, err = run_cli(capsys, "info", tmp_path / "folder")
    assert status == 2 and "metadata.yaml" in err


def test_ros2_folder_whose_storage_file_is_gone_fails_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "ros2"
    shutil.copytree(BAGS / "ros2-sqlite3-custom", bag)
    (bag / "cdr_test_0.db3").unlink()
    status, _, err = run_cli(capsys, "extract", bag, tmp_path / "out")
    _assert_failed_cleanly(tmp_path / "out", status, err)


def test_unexpected_failure_exits_1_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(run, "_write_info", explode)
    status, _, err = run_cli(capsys, "extract", BAGS / "gps-navsatfix.bag", tmp_path)
    assert status == 1
    assert "disk on fire" in err
    assert list(tmp_path.iterdir()) == []


def test_bad_command_lines_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bag = BAGS / "gps-navsatfix.bag"
    for args in (
        ["extract", bag, tmp_path, "--shard", "5/4"],
        ["extract", bag, tmp_path, "--format", "xlsx"],
        ["merge", bag, tmp_path, "--shards", "0"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            run_cli(capsys, *args)
        assert exit_info.value.code == 2


def test_type_with_a_field_rosbags_cannot_decode_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_typestore(Stores.LATEST)
    idl = "module test_msgs { module msg { struct Wide { int32 a; long double q; }; }; };"
    store.register(get_types_from_idl(idl))
    bag = tmp_path / "wide"
    with Writer2(bag, version=9) as writer:
        wide = writer.add_connection("/wide", "test_msgs/msg/Wide", typestore=store)
        count = writer.add_connection("/count", "std_msgs/msg/UInt32", typestore=store)
        uint32 = store.types["std_msgs/msg/UInt32"]
        for index in range(3):
            writer.write(wide, 10 + index, b"\x00\x01\x00\x00" + bytes(32))  # int32, pad, 16 B
            writer.write(
                count, 10 + index, store.serialize_cdr(uint32(data=index), "std_msgs/msg/UInt32")
            )
    status, _, _ = run_cli(capsys, "extract", bag, tmp_path / "out")
    assert status == 3
    document = manifest(tmp_path / "out" / "wide")
    [skipped] = document["skipped"]
    assert skipped["topic"] == "/wide" and skipped["messages"] == 3
    assert "float128" in skipped["reason"], skipped["reason"]
    assert [r["data"] for r in read_csv(tmp_path / "out" / "wide" / "count.csv")] == ["0", "1", "2"]


@pytest.mark.parametrize("outdir", ["/proc/nope", "/dev/null/out"])
def test_an_outdir_that_cannot_be_created_fails_with_exit_2(
    outdir: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(capsys, "extract", BAGS / "gps-navsatfix.bag", outdir)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and outdir in err and "OUTDIR" in err
