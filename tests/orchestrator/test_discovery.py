"""Finding bags: ROS 1 files, ROS 2 folders, bare ROS 2 files, nested folders."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from orchestrator.discovery import InputError, find_bags
from tests.orchestrator.helpers import copy_bags, touch_bags


def test_finds_every_kind_of_bag_in_nested_folders(tmp_path: Path) -> None:
    copy_bags(tmp_path / "raw", ["turtlesim.bag", "ros2-mcap-basic"])
    copy_bags(tmp_path / "raw" / "2026" / "run-7", ["ros2-sqlite3-custom"])
    touch_bags(tmp_path / "raw" / "loose", ["drive.mcap", "notes.txt", ".hidden.bag"])

    bags = find_bags(tmp_path, PurePosixPath("raw"))

    assert [(str(bag.path), str(bag.output_key)) for bag in bags] == [
        ("raw/2026/run-7/ros2-sqlite3-custom", "2026/run-7/ros2-sqlite3-custom"),
        ("raw/loose/drive.mcap", "loose/drive"),
        ("raw/ros2-mcap-basic", "ros2-mcap-basic"),
        ("raw/turtlesim.bag", "turtlesim"),
    ]
    # A ROS 2 folder is one bag: its size is its files', its .mcap is not listed again.
    folder = next(bag for bag in bags if bag.path.name == "ros2-mcap-basic")
    assert folder.size_bytes == sum(p.stat().st_size for p in (tmp_path / folder.path).iterdir())


def test_input_may_be_one_bag_file_or_one_ros2_folder(tmp_path: Path) -> None:
    copy_bags(tmp_path / "raw", ["gps-navsatfix.bag", "ros2-mcap-basic"])
    [single] = find_bags(tmp_path, PurePosixPath("raw/gps-navsatfix.bag"))
    assert single.output_key == PurePosixPath("gps-navsatfix")
    [folder] = find_bags(tmp_path, PurePosixPath("raw/ros2-mcap-basic"))
    assert folder.output_key == PurePosixPath("ros2-mcap-basic")


def test_bags_that_would_share_an_output_folder_are_refused(tmp_path: Path) -> None:
    touch_bags(tmp_path / "raw", ["drive.bag", "drive.mcap"])
    with pytest.raises(InputError, match="would both write drive/"):
        find_bags(tmp_path, PurePosixPath("raw"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: None, "does not exist"),
        (lambda root: (root / "raw").mkdir(), "no bags found"),
        (lambda root: touch_bags(root / "raw", ["notes.txt"]), "no bags found"),
    ],
)
def test_unusable_input_is_explained(tmp_path: Path, make: object, message: str) -> None:
    assert callable(make)
    make(tmp_path)
    with pytest.raises(InputError, match=message):
        find_bags(tmp_path, PurePosixPath("raw"))


def test_a_file_that_is_not_a_bag_is_refused(tmp_path: Path) -> None:
    touch_bags(tmp_path, ["notes.txt"])
    with pytest.raises(InputError, match="is not a bag"):
        find_bags(tmp_path, PurePosixPath("notes.txt"))


def test_output_folder_inside_the_input_is_not_searched(tmp_path: Path) -> None:
    copy_bags(tmp_path / "data", ["gps-navsatfix.bag"])
    copy_bags(tmp_path / "data" / "extracted", ["ros2-mcap-basic"])  # looks like a bag
    bags = find_bags(tmp_path, PurePosixPath("data"), exclude=PurePosixPath("data/extracted"))
    assert [str(bag.path) for bag in bags] == ["data/gps-navsatfix.bag"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder whatever its mode")
def test_a_folder_that_cannot_be_read_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "raw" / "ok").mkdir(parents=True)
    (tmp_path / "raw" / "ok" / "a.bag").write_bytes(b"x")
    locked = tmp_path / "raw" / "locked"
    locked.mkdir()
    (locked / "b.bag").write_bytes(b"x")
    locked.chmod(0o000)
    try:
        with pytest.raises(InputError, match=r"cannot read .*locked"):
            find_bags(tmp_path, PurePosixPath("raw"))
    finally:
        locked.chmod(0o755)


def test_walk_errors_are_not_swallowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Root ignores folder modes, so simulate the NFS "Permission denied" a non-admin task sees.
    (tmp_path / "raw" / "locked").mkdir(parents=True)
    real_scandir = os.scandir

    def scandir(path: str) -> object:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError, match=r"cannot read .*locked.*Permission denied") as caught:
        find_bags(tmp_path, PurePosixPath("raw"))
    # The fix on Batch: the orchestrator must run as the pool's admin user.
    assert "autoUserSpecification" in str(caught.value)
