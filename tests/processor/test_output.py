"""Output layout: shards merge into exactly the unsharded output, re-runs replace whole,
camera frames are images a person can open."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from scripts.synthetic_bags import write_drive
from tests.processor.helpers import BAGS, direct_messages, files_under, manifest, read_csv, run_cli


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s synthetic drive with compressed and raw camera frames (no real bag has them)."""
    path = tmp_path_factory.mktemp("drive") / "drive.bag"
    write_drive(path, seconds=3, frame_size=(64, 48), raw_camera=True, compression="lz4")
    return path


def _contents(folder: Path) -> dict[str, bytes]:
    skip = {"manifest.json"}
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in files_under(folder)
        if p.name not in skip
    }


def _shard_and_merge(
    capsys: pytest.CaptureFixture[str], bag: Path, outdir: Path, count: int, *extra: str
) -> int:
    for index in range(1, count + 1):
        assert run_cli(capsys, "extract", bag, outdir, "--shard", f"{index}/{count}", *extra)[
            0
        ] in (0, 3)
    return run_cli(capsys, "merge", bag, outdir, "--shards", str(count))[0]


@pytest.mark.parametrize("bag_name", ["drive", "turtlesim.bag", "ros2-sqlite3-custom"])
def test_sharded_output_equals_unsharded(
    bag_name: str, drive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = drive if bag_name == "drive" else BAGS / bag_name
    name = bag.stem if bag.is_file() else bag.name
    assert run_cli(capsys, "extract", bag, tmp_path / "whole")[0] == 0
    assert _shard_and_merge(capsys, bag, tmp_path / "sharded", 3) == 0
    whole, sharded = tmp_path / "whole" / name, tmp_path / "sharded" / name
    assert _contents(sharded) == _contents(whole)
    one, other = manifest(whole), manifest(sharded)
    assert other.pop("shards") == 3
    assert one == other
    assert sorted(p.name for p in (tmp_path / "sharded").iterdir()) == [name]  # parts removed


def test_sharded_parquet_equals_unsharded(
    drive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "extract", drive, tmp_path / "whole", "--format", "parquet")[0] == 0
    assert _shard_and_merge(capsys, drive, tmp_path / "sharded", 4, "--format", "parquet") == 0
    for table in (tmp_path / "whole" / "drive").glob("*.parquet"):
        merged = pq.read_table(tmp_path / "sharded" / "drive" / table.name)
        assert merged.equals(pq.read_table(table)), table.name


def test_merge_refuses_missing_parts(
    drive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "extract", drive, tmp_path, "--shard", "1/3")[0] == 0
    assert run_cli(capsys, "extract", drive, tmp_path, "--shard", "3/3")[0] == 0
    status, _, err = run_cli(capsys, "merge", drive, tmp_path, "--shards", "3")
    assert status == 2 and "2/3" in err and "--shard" in err
    assert not (tmp_path / "drive").exists()


def test_rerun_replaces_the_output_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "turtlesim.bag"
    assert run_cli(capsys, "extract", bag, tmp_path)[0] == 0
    assert run_cli(capsys, "extract", bag, tmp_path, "--topics", "/turtle1/pose")[0] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["turtlesim"]  # no staging leftovers
    assert sorted(p.name for p in (tmp_path / "turtlesim").iterdir()) == [
        "_SUCCESS",
        "info.json",
        "info.txt",
        "manifest.json",
        "turtle1.pose.csv",
    ]


def test_failed_rerun_keeps_the_previous_complete_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "in" / "jackal-imu-odom.bag"
    good.parent.mkdir()
    shutil.copy(BAGS / "jackal-imu-odom.bag", good)
    assert run_cli(capsys, "extract", good, tmp_path / "out")[0] == 0
    before = _contents(tmp_path / "out" / "jackal-imu-odom")
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])  # the same bag, now cut short
    assert run_cli(capsys, "extract", good, tmp_path / "out")[0] == 2
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["jackal-imu-odom"]
    assert _contents(tmp_path / "out" / "jackal-imu-odom") == before


def test_camera_frames_are_images(
    drive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "extract", drive, tmp_path)[0] == 0
    folder = tmp_path / "drive"
    expected = direct_messages(drive)
    compressed = read_csv(folder / "camera.image.compressed.csv")
    assert len(compressed) == len(expected["/camera/image/compressed"]) == 30
    for row, (_, message) in zip(compressed, expected["/camera/image/compressed"], strict=True):
        path = folder / row["data"]
        assert path.suffix == ".jpg" and path.read_bytes() == message.data.tobytes()
        with Image.open(path) as image:
            assert image.format == "JPEG" and image.size == (64, 48)
    raw = read_csv(folder / "camera.image_raw.csv")
    for row, (_, message) in zip(raw, expected["/camera/image_raw"], strict=True):
        with Image.open(folder / row["data"]) as image:
            assert image.format == "PNG" and image.mode == "RGB"
            pixels = np.asarray(image)
        assert np.array_equal(pixels, message.data.reshape(message.height, message.width, 3))
    topics = {t["topic"]: t for t in manifest(folder)["topics"]}
    assert topics["/camera/image_raw"]["side_files"] == 30
    assert topics["/camera/image_raw"]["files"] == [
        "camera.image_raw.csv",
        "camera.image_raw.files/",
    ]
    info = json.loads((folder / "info.json").read_text())
    assert {t["topic"]: round(t["frequency_hz"]) for t in info["topics"]} == {
        "/camera/image/compressed": 10,
        "/camera/image_raw": 10,
        "/gnss/fix": 10,
        "/imu/data": 200,
        "/odom": 50,
        "/tf": 100,
    }


def _peak_rss_mb(*args: str | Path) -> float:
    """Run `python -m processor ARGS` as its own process; its peak resident set in MB."""
    process = subprocess.Popen(
        [sys.executable, "-m", "processor", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0
    return usage.ru_maxrss / 1024


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_bag(tmp_path: Path) -> None:
    # Both drives fill several table batches: what grows beyond is per-bag state.
    small = write_drive(tmp_path / "small.bag", megabytes=30, frame_size=(320, 240)).path
    large = write_drive(tmp_path / "large.bag", megabytes=120, frame_size=(320, 240)).path
    assert large.stat().st_size > 3.5 * small.stat().st_size
    small_rss = _peak_rss_mb("extract", small, tmp_path / "out")
    large_rss = _peak_rss_mb("extract", large, tmp_path / "out")
    # rosbags keeps the ROS 1 index in memory (~200 B per message: ~15 MB more here).
    assert large_rss < small_rss + 30, (small_rss, large_rss)  # all rows held: +130 MB
