"""Small pieces: progress lines, frame suffixes, synthetic drives in every container."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from processor.extract import topic_stem
from processor.progress import Progress
from processor.sidefiles import image_suffix
from scripts.synthetic_bags import write_drive
from tests.processor.helpers import manifest, run_cli


def test_progress_reports_rate_percent_and_eta() -> None:
    out = io.StringIO()
    progress = Progress("p", start_ns=0, stop_ns=1000, interval=0.0, stream=out)
    progress.update(500, 250)
    progress.finish(1000)
    first, last = out.getvalue().splitlines()
    assert first.startswith("p: 500 messages, ") and "msg/s, 25% of the time range" in first
    assert "s left" in first
    assert last.startswith("p: done, 1000 messages in ")


def test_progress_is_quiet_between_intervals() -> None:
    out = io.StringIO()
    progress = Progress("p", start_ns=0, stop_ns=10, interval=3600.0, stream=out)
    progress.update(1, 5)
    assert out.getvalue() == ""


@pytest.mark.parametrize(
    ("head", "declared", "suffix"),
    [
        (b"\xff\xd8\xff\xe0", "", ".jpg"),
        (b"\x89PNG\r\n\x1a\n", "jpeg", ".png"),
        (b"\x00\x00", "rgb8; jpeg compressed bgr8", ".jpg"),
        (b"\x00\x00", "16UC1; compressedDepth png", ".bin"),
    ],
)
def test_image_suffix_trusts_bytes_over_the_format_field(
    head: bytes, declared: str, suffix: str
) -> None:
    assert image_suffix(head, declared) == suffix


def test_topic_stem() -> None:
    assert topic_stem("/camera/image/compressed") == "camera.image.compressed"
    assert topic_stem("imu") == "imu"
    assert topic_stem("/") == "_root"


@pytest.mark.parametrize("kind", ["ros2-mcap", "ros2-sqlite3"])
def test_synthetic_ros2_drives_extract_completely(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drive = write_drive(tmp_path / "drive", seconds=1, kind=kind, frame_size=(32, 24))
    assert run_cli(capsys, "extract", drive.path, tmp_path / "out")[0] == 0
    document = manifest(tmp_path / "out" / "drive")
    assert {t["topic"]: t["messages"] for t in document["topics"]} == drive.counts
    assert drive.counts == {"/imu/data": 200, "/gnss/fix": 10, "/camera/image/compressed": 10}
