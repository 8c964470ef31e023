"""The same content in other containers gives the same tables: ROS 1 chunking, ROS 2 quirks."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from rosbags.rosbag1 import Reader as Reader1

from tests.processor.helpers import BAGS, files_under, manifest, rewrite_ros1, run_cli


def _tables(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.csv")}


@pytest.mark.parametrize(
    ("compression", "reverse"), [("lz4", False), ("bz2", False), (None, False), ("lz4", True)]
)
def test_ros1_chunking_does_not_change_the_tables(
    compression: str | None, reverse: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = BAGS / "jackal-imu-odom.bag"
    variant = tmp_path / "in" / "jackal-imu-odom.bag"
    variant.parent.mkdir()
    rewrite_ros1(source, variant, compression=compression, reverse_chunks=reverse)
    with Reader1(variant) as reader:
        starts = [chunk.start_time for chunk in reader.chunk_infos]
        names = {chunk.decompressor.__module__ for chunk in reader.chunks.values()}
    assert (starts != sorted(starts)) is reverse  # chunks really are out of time order
    if compression:
        assert any(compression in name for name in names)
    assert run_cli(capsys, "extract", source, tmp_path / "a")[0] == 0
    assert run_cli(capsys, "extract", variant, tmp_path / "b")[0] == 0
    original = _tables(tmp_path / "a" / "jackal-imu-odom")
    assert original and _tables(tmp_path / "b" / "jackal-imu-odom") == original


def _edit_ros2_copy(tmp_path: Path, old: str, new: str, *, in_storage: bool) -> Path:
    bag = tmp_path / "in" / "ros2-sqlite3-custom"
    shutil.copytree(BAGS / "ros2-sqlite3-custom", bag)
    metadata = bag / "metadata.yaml"
    metadata.write_text(metadata.read_text().replace(f"type: {old}", f"type: {new}"))
    if in_storage:
        with sqlite3.connect(bag / "cdr_test_0.db3") as db:
            db.execute("UPDATE topics SET type = ? WHERE type = ?", (new, old))
            db.execute(
                "UPDATE message_definitions SET topic_type = ? WHERE topic_type = ?", (new, old)
            )
        db.close()
    return bag


def test_ros2_metadata_that_disagrees_with_storage_falls_back_to_storage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = _edit_ros2_copy(
        tmp_path, "test_msgs/msg/Arrays", "test_msgs/msg/Renamed", in_storage=False
    )
    assert run_cli(capsys, "extract", bag, tmp_path / "out")[0] == 0
    document = manifest(tmp_path / "out" / bag.name)
    assert {t["topic"]: t["messages"] for t in document["topics"]} == {
        "/array_topic": 4,
        "/test_topic": 3,
    }
    assert any("disagrees" in note for note in document["notes"])
    original = tmp_path / "orig"
    assert run_cli(capsys, "extract", BAGS / "ros2-sqlite3-custom", original)[0] == 0
    assert _tables(tmp_path / "out" / bag.name) == _tables(original / bag.name)


def test_ros2_type_names_of_older_distributions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = _edit_ros2_copy(tmp_path, "test_msgs/msg/Arrays", "test_msgs/Arrays", in_storage=True)
    assert run_cli(capsys, "extract", bag, tmp_path / "out")[0] == 0
    document = manifest(tmp_path / "out" / bag.name)
    assert {(t["topic"], t["msgtype"], t["messages"]) for t in document["topics"]} == {
        ("/array_topic", "test_msgs/msg/Arrays", 4),
        ("/test_topic", "test_msgs/msg/BasicTypes", 3),
    }
    assert not [p for p in files_under(bag) if p.suffix in (".db3-wal", ".db3-shm")]


def test_ros2_storage_file_missing_from_a_split_bag_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "in" / "ros2-sqlite3-custom"
    shutil.copytree(BAGS / "ros2-sqlite3-custom", bag)
    metadata = bag / "metadata.yaml"
    text = metadata.read_text()
    # A second split file (lost) that held 2 more /test_topic messages.
    text = text.replace("    - cdr_test_0.db3\n", "    - cdr_test_0.db3\n    - cdr_test_1.db3\n")
    text = text.replace(
        '        type_description_hash: ""\n      message_count: 3',
        '        type_description_hash: ""\n      message_count: 5',
    )
    metadata.write_text(text)
    status, _, _ = run_cli(capsys, "extract", bag, tmp_path / "out")
    assert status == 3
    document = manifest(tmp_path / "out" / bag.name)
    assert {t["topic"]: t["messages"] for t in document["topics"]} == {
        "/array_topic": 4,
        "/test_topic": 3,
    }
    [shortfall] = document["skipped"]
    assert shortfall["topic"] == "/test_topic" and shortfall["messages"] == 2
    assert "declares 5" in shortfall["reason"]
    assert any("missing" in note for note in document["notes"])
