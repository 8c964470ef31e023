"""Small pieces: progress lines, frame suffixes, synthetic drives in every container."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rosbags.rosbag1 import Writer as Writer1
from rosbags.typesys import Stores, get_typestore

from processor.progress import Progress
from processor.sidefiles import image_suffix
from scripts.synthetic_bags import write_drive
from tests.processor.helpers import manifest, read_csv, run_cli


def test_progress_reports_rate_percent_and_eta() -> None:
    out = io.StringIO()
    progress = Progress("p", start_ns=0, stop_ns=1000, interval=0.0, stream=out)
    progress.update(500, 250)
    progress.finish(1000)
    first, last = out.getvalue().splitlines()
    assert first.startswith("p: 500 messages, ") and "msg/s, 25% of the time range" in first
    assert "s left" in first
    assert last.startswith("p: read 1000 messages in ")


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


@pytest.mark.parametrize("kind", ["ros2-mcap", "ros2-sqlite3"])
def test_synthetic_ros2_drives_extract_completely(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drive = write_drive(tmp_path / "drive", seconds=1, kind=kind, frame_size=(32, 24))
    assert run_cli(capsys, "extract", drive.path, tmp_path / "out")[0] == 0
    document = manifest(tmp_path / "out" / "drive")
    assert {t["topic"]: t["messages"] for t in document["topics"]} == drive.counts
    assert drive.counts == {
        "/imu/data": 200,
        "/gnss/fix": 10,
        "/tf": 100,
        "/odom": 50,
        "/camera/image/compressed": 10,
    }


def test_payloads_become_files_with_their_exact_bytes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    header = store.types["std_msgs/msg/Header"](
        seq=0, stamp=store.types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="f"
    )
    image = store.types["sensor_msgs/msg/Image"]
    depth = np.arange(12, dtype=np.float32).reshape(3, 4)
    mono16 = (np.arange(12, dtype=np.uint16) * 5000).reshape(3, 4)
    cloud = store.types["sensor_msgs/msg/PointCloud2"](
        header=header,
        height=1,
        width=2,
        fields=[],
        is_bigendian=False,
        point_step=8,
        row_step=16,
        data=np.arange(16, dtype=np.uint8),
        is_dense=True,
    )
    messages = {
        "/depth": image(
            header=header,
            height=3,
            width=4,
            encoding="32FC1",
            is_bigendian=0,
            step=16,
            data=np.frombuffer(depth.tobytes(), dtype=np.uint8),
        ),
        "/mono16": image(
            header=header,
            height=3,
            width=4,
            encoding="mono16",
            is_bigendian=0,
            step=8,
            data=np.frombuffer(mono16.tobytes(), dtype=np.uint8),
        ),
        "/cloud": cloud,
    }
    bag = tmp_path / "payloads.bag"
    with Writer1(bag) as writer:
        for topic, message in messages.items():
            msgtype = type(message).__msgtype__
            connection = writer.add_connection(topic, msgtype, typestore=store)
            writer.write(connection, 5, store.serialize_ros1(message, msgtype))
    assert run_cli(capsys, "extract", bag, tmp_path / "out")[0] == 0
    folder = tmp_path / "out" / "payloads"
    paths = {t: folder / read_csv(folder / f"{t[1:]}.csv")[0]["data"] for t in messages}
    assert paths["/depth"].name == "5.bin"  # float depth: kept exactly, not as an image
    assert paths["/depth"].read_bytes() == depth.tobytes()
    assert paths["/cloud"].name == "5.data.bin"
    assert paths["/cloud"].read_bytes() == bytes(range(16))
    with Image.open(paths["/mono16"]) as png:
        assert png.format == "PNG"
        assert np.array_equal(np.asarray(png).astype(np.uint16), mono16)
