"""Source ids and complete ROS 2 folders (orchestrator/source.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

import pytest

from orchestrator.discovery import InputError, find_bags
from orchestrator.source import Incomplete, listed_files, ros2_files, source_id
from tests.orchestrator.helpers import BAGS, copy_bags


def test_listed_files_reads_block_flow_and_quoted_lists() -> None:
    block = "a:\n  relative_file_paths:\n    - x_0.db3\n    - 'x_1.db3'\n  files:\n    - path: x\n"
    assert listed_files(block) == ["x_0.db3", "x_1.db3"]
    assert listed_files('  relative_file_paths: ["a.mcap", b.mcap]\n') == ["a.mcap", "b.mcap"]
    with pytest.raises(Incomplete, match="lists no relative_file_paths"):
        listed_files("rosbag2_bagfile_information:\n  version: 5\n")


def test_the_real_ros2_folders_are_complete() -> None:
    for name, storage in (
        ("ros2-mcap-basic", "base_msgs_0.mcap"),
        ("ros2-sqlite3-custom", "cdr_test_0.db3"),
    ):
        files = ros2_files(BAGS / name)
        assert [f.name for f in files] == ["metadata.yaml", storage]


def test_a_listed_path_outside_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "metadata.yaml").write_text("relative_file_paths:\n  - ../../etc/passwd\n")
    with pytest.raises(Incomplete, match="not inside the folder"):
        ros2_files(tmp_path)


def test_source_id_changes_with_size_or_mtime_not_with_a_move(tmp_path: Path) -> None:
    bag = tmp_path / "a.bag"
    bag.write_bytes(b"x" * 10)
    os.utime(bag, ns=(1, 1_000_000_000))
    first = source_id(bag)
    moved = tmp_path / "sub"
    moved.mkdir()
    shutil.move(bag, moved / "a.bag")
    assert source_id(moved / "a.bag") == first
    os.utime(moved / "a.bag", ns=(1, 2_000_000_000))
    assert source_id(moved / "a.bag") != first
    (moved / "a.bag").write_bytes(b"x" * 11)
    os.utime(moved / "a.bag", ns=(1, 1_000_000_000))
    assert source_id(moved / "a.bag") != first


def test_an_incomplete_folder_is_found_waiting_and_an_event_names_its_folder(
    tmp_path: Path,
) -> None:
    raw = copy_bags(tmp_path / "raw" / "2026", ["ros2-sqlite3-custom"]).parent
    (raw / "2026" / "ros2-sqlite3-custom" / "cdr_test_0.db3").unlink()

    [bag] = find_bags(tmp_path, PurePosixPath("raw"))
    assert bag.waiting == "waiting for cdr_test_0.db3 listed in its metadata.yaml"
    event = PurePosixPath("raw/2026/ros2-sqlite3-custom/metadata.yaml")
    [same] = find_bags(tmp_path, PurePosixPath("raw"), only=event)
    assert same == bag
    assert same.output_key == PurePosixPath("2026/ros2-sqlite3-custom")


def test_an_event_outside_the_input_or_gone_is_a_one_line_error(tmp_path: Path) -> None:
    copy_bags(tmp_path / "raw", ["gps-navsatfix.bag"])
    with pytest.raises(InputError, match="not inside the input"):
        find_bags(tmp_path, PurePosixPath("raw"), only=PurePosixPath("other/a.bag"))
    with pytest.raises(InputError, match="moved or deleted after the event"):
        find_bags(tmp_path, PurePosixPath("raw"), only=PurePosixPath("raw/gone.bag"))


def test_an_event_inside_the_quarantine_folder_takes_no_bag(tmp_path: Path) -> None:
    copy_bags(tmp_path / "raw" / "quarantine", ["gps-navsatfix.bag"])
    quarantine = PurePosixPath("raw/quarantine")
    event = PurePosixPath("raw/quarantine/gps-navsatfix.bag")
    assert find_bags(tmp_path, PurePosixPath("raw"), exclude=[quarantine], only=event) == []
