"""`--video`: each camera topic's MP4 decodes (PyAV) to its frames at the index's times."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from PIL import Image
from rosbags.rosbag1 import Writer as Writer1
from rosbags.typesys import Stores, get_typestore

from scripts.synthetic_bags import write_drive
from tests.processor.helpers import BAGS, assert_accounted, direct_messages, manifest, run_cli

CAMERA_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


def _table(path: Path) -> list[dict[str, Any]]:
    table = pq.read_table(path) if path.suffix == ".parquet" else pcsv.read_csv(path)
    return table.drop(["log_time"]).to_pylist()


def _decoded(path: Path) -> list[tuple[Any, Any, np.ndarray[Any, Any]]]:
    """(pts, time base, RGB pixels) of every frame, decoded by PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        return [
            (frame.pts, frame.time_base, frame.to_ndarray(format="rgb24"))
            for frame in container.decode(stream)
        ]


def _stamp(message: Any) -> int:
    return (message.header.stamp.sec & 0xFFFFFFFF) * 10**9 + message.header.stamp.nanosec


def _check_video(folder: Path, topic: str, messages: list[tuple[int, Any]], fmt: str) -> list[Any]:
    """The topic's segments hold every frame, at the pts the index gives, at the log time the
    bag gives; returns the decoded frames per row of the index."""
    entry = next(t for t in manifest(folder)["topics"] if t["topic"] == topic)
    stem = entry["name"]
    index = _table(folder / f"{stem}.video" / f"frames.{fmt}")
    assert entry["video"] == {
        "index": f"{stem}.video/frames.{fmt}",
        "segments": sorted({row["file"] for row in index}, key=[r["file"] for r in index].index),
        "frames": len(index),
    }
    assert [row["log_time_ns"] for row in index] == [t for t, _ in messages]
    assert [row["header_stamp_ns"] for row in index] == [_stamp(m) for _, m in messages]
    frames = []
    for segment in entry["video"]["segments"]:
        rows = [row for row in index if row["file"] == segment]
        decoded = _decoded(folder / segment)
        assert len(decoded) == len(rows)  # every frame of the index, no other
        first = rows[0]["log_time_ns"]
        assert segment == f"{stem}.video/{first}.mp4"  # named by its first frame's log time
        for number, (row, (pts, time_base, pixels)) in enumerate(zip(rows, decoded, strict=True)):
            assert row["frame"] == number
            assert time_base == Fraction(1, 1_000_000)
            assert pts == row["pts_us"]
            # The recording's timing, in microseconds; equal log times 1 us apart.
            expected = (row["log_time_ns"] - first) // 1000
            previous = expected - 1 if number == 0 else rows[number - 1]["pts_us"]
            assert pts == max(expected, previous + 1)
            assert pixels.shape[:2] == (
                row["height"] + row["height"] % 2,
                row["width"] + row["width"] % 2,
            )
            frames.append(pixels)
    table = _table(folder / f"{stem}.{fmt}")
    cells = [row["data"] for row in table]
    assert [c for c in cells if c.startswith(f"{stem}.video/")] == [row["file"] for row in index]
    assert all(c.startswith((f"{stem}.video/", f"{stem}.files/")) for c in cells)
    return frames


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_camera_drive_becomes_one_mp4_per_camera_topic(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "camera-drive.bag"
    status, _, _ = run_cli(capsys, "extract", bag, tmp_path, "--video", "--format", fmt)
    assert status == 0
    folder = tmp_path / "camera-drive"
    document = manifest(folder)
    assert document["options"]["video"] is True
    direct = direct_messages(bag)
    cameras = {t["topic"] for t in document["topics"] if t["msgtype"] in CAMERA_TYPES}
    assert cameras == {"/camera/image_raw", "/camera/image_raw/compressed"}
    for topic in cameras:
        frames = _check_video(folder, topic, direct[topic], fmt)
        assert len(frames) == len(direct[topic])
        for pixels, (_, message) in zip(frames, direct[topic], strict=True):
            if message.__msgtype__.endswith("CompressedImage"):
                source = np.asarray(Image.open(io.BytesIO(message.data.tobytes())).convert("RGB"))
            else:
                source = message.data.reshape(message.height, message.width, 3)
            # Lossy, but the same picture: the mean error of an 8-bit channel stays small.
            assert np.abs(pixels.astype(int) - source.astype(int)).mean() < 12
    assert not list(folder.glob("*.files"))  # no image files beside the videos
    assert (folder / f"camera.camera_info.{fmt}").is_file()


def test_without_video_frames_stay_image_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "extract", BAGS / "camera-drive.bag", tmp_path)[0] == 0
    folder = tmp_path / "camera-drive"
    assert manifest(folder)["options"]["video"] is False
    assert not list(folder.glob("*.video"))
    assert len(list((folder / "camera.image_raw.compressed.files").iterdir())) == 30
    assert all("video" not in t for t in manifest(folder)["topics"])


def _solid(width: int, height: int, value: tuple[int, ...]) -> np.ndarray[Any, Any]:
    return np.tile(np.array(value, np.uint8), (height, width, 1))


def _camera_bag(path: Path) -> dict[str, list[str]]:
    """Raw and compressed frames of every kind: per topic, the encoding of each frame."""
    store = get_typestore(Stores.ROS1_NOETIC)
    types = store.types
    time, header = types["builtin_interfaces/msg/Time"], types["std_msgs/msg/Header"]
    image_type, compressed_type = CAMERA_TYPES
    kinds: dict[str, list[str]] = {}

    def raw(t: int, encoding: str, pixels: np.ndarray[Any, Any], pad: int = 0) -> Any:
        height, width = pixels.shape[:2]
        rows = pixels.reshape(height, -1)
        step = rows.shape[1] + pad
        data = np.zeros((height, step), np.uint8)
        data[:, : rows.shape[1]] = rows
        return types[image_type](
            header=header(seq=0, stamp=time(sec=t // 10**9, nanosec=t % 10**9 + 1), frame_id="c"),
            height=height,
            width=width,
            encoding=encoding,
            is_bigendian=0,
            step=step,
            data=data.reshape(-1),
        )

    def compressed(t: int, data: bytes, fmt: str) -> Any:
        return types[compressed_type](
            header=header(seq=0, stamp=time(sec=t // 10**9, nanosec=t % 10**9), frame_id="c"),
            format=fmt,
            data=np.frombuffer(data, np.uint8),
        )

    def encoded(image: Image.Image, fmt: str) -> bytes:
        out = io.BytesIO()
        image.save(out, format=fmt)
        return out.getvalue()

    base = 1_700_000_000 * 10**9
    with Writer1(path) as writer:
        connections = {
            topic: writer.add_connection(topic, msgtype, typestore=store)
            for topic, msgtype in (
                ("/raw", image_type),
                ("/bayer", image_type),
                ("/depth", image_type),
                ("/jpeg", compressed_type),
                ("/png", compressed_type),
            )
        }

        def write(topic: str, t: int, message: Any, kind: str, msgtype: str) -> None:
            writer.write(connections[topic], t, store.serialize_ros1(message, msgtype))
            kinds.setdefault(topic, []).append(kind)

        for index in range(12):
            t = base + index * 33_333_333 + (index % 3) * 1_000_000  # a variable rate
            if index < 4:  # odd size, padded rows: red as rgb8
                message = raw(t, "rgb8", _solid(33, 21, (255, 0, 0)), pad=5)
                write("/raw", t, message, "red", image_type)
            elif index < 8:  # the same bytes as bgr8 are blue
                message = raw(t, "bgr8", _solid(33, 21, (255, 0, 0)))
                write("/raw", t, message, "blue", image_type)
            else:  # another size: a new segment; mono8 gray
                write("/raw", t, raw(t, "mono8", _solid(40, 30, (128,))), "gray", image_type)
            bayer = np.zeros((24, 32), np.uint8)
            bayer[0::2, 0::2] = 250  # RGGB: only the red sites lit
            write("/bayer", t, raw(t, "bayer_rggb8", bayer[:, :, None]), "red", image_type)
            depth = _solid(8, 6, (0,)).astype(np.uint16) + 1000
            message = raw(t, "mono16", depth.view(np.uint8).reshape(6, 8, 2))
            write("/depth", t, message, "depth", image_type)
            picture = Image.fromarray(_solid(45, 35, (0, 200, 0)))
            jpeg = encoded(picture, "JPEG")
            if index == 5:
                jpeg = jpeg[: len(jpeg) // 2]  # cut short: corrupt
            write(
                "/jpeg",
                t,
                compressed(t, jpeg, "jpeg"),
                "corrupt" if index == 5 else "green",
                compressed_type,
            )
            png = encoded(Image.fromarray(_solid(7, 5, (0, 0, 255))), "PNG")
            write("/png", t, compressed(t, png, "png"), "blue", compressed_type)
        t = base + 12 * 33_333_333
        same = raw(t, "mono8", _solid(40, 30, (128,)))
        write("/raw", t, same, "gray", image_type)
        write("/raw", t, same, "gray", image_type)  # an equal log time: pts 1 us later
    return kinds


COLOURS = {"red": (255, 0, 0), "blue": (0, 0, 255), "green": (0, 200, 0), "gray": (128, 128, 128)}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_raw_and_compressed_frames_of_every_kind(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "cams.bag"
    kinds = _camera_bag(bag)
    status, _, _ = run_cli(capsys, "extract", bag, tmp_path / "out", "--video", "--format", fmt)
    assert status == 0
    folder = tmp_path / "out" / "cams"
    direct = direct_messages(bag)
    topics = {t["topic"]: t for t in manifest(folder)["topics"]}
    for topic in ("/raw", "/bayer", "/png", "/jpeg"):
        kept = [i for i, kind in enumerate(kinds[topic]) if kind in COLOURS]
        frames = _check_video(folder, topic, [direct[topic][i] for i in kept], fmt)
        for index, pixels in zip(kept, frames, strict=True):
            colour = COLOURS[kinds[topic][index]]
            if topic == "/bayer":  # demosaiced: red dominates, whatever the edges do
                mean = pixels.reshape(-1, 3).mean(axis=0)
                assert mean[0] > 2 * mean[1] and mean[0] > 2 * mean[2], mean
                continue
            error = np.abs(pixels.astype(int) - np.array(colour)).max(axis=2)
            assert np.median(error) < 12, (topic, index, colour)
    assert len(topics["/raw"]["video"]["segments"]) == 2  # 33x21 (red, then blue), 40x30
    segment_sizes = [(r["width"], r["height"]) for r in _table(folder / f"raw.video/frames.{fmt}")]
    assert segment_sizes == [(33, 21)] * 8 + [(40, 30)] * 6
    last_two = _table(folder / f"raw.video/frames.{fmt}")[-2:]
    assert last_two[1]["pts_us"] == last_two[0]["pts_us"] + 1
    # The corrupt JPEG: noted, counted, not in the video, its bytes kept as a side file.
    jpeg = topics["/jpeg"]
    assert jpeg["notes"] == [
        {
            "note": "frames not in the video, kept as side files: corrupt frames (OSError)",
            "messages": 1,
        }
    ]
    assert jpeg["side_files"] == 1 and jpeg["video"]["frames"] == 11
    side = folder / "jpeg.files"
    assert [p.read_bytes() for p in side.iterdir()] == [direct["/jpeg"][5][1].data.tobytes()]
    # 16-bit depth: not squeezed into 8 bits; lossless PNGs as without --video, and noted.
    depth = topics["/depth"]
    assert "video" not in depth and depth["side_files"] == 12
    assert depth["notes"][0]["note"].startswith("frames not in the video, kept as side files: ")
    png = next((folder / "depth.files").iterdir())
    assert np.asarray(Image.open(png)).max() == 1000


def test_a_sharded_video_merges_into_segments_cut_at_the_shards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "camera-drive.bag"
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert run_cli(capsys, "extract", bag, whole, "--video")[0] == 0
    for index in (1, 2):
        assert run_cli(capsys, "extract", bag, parts, "--video", "--shard", f"{index}/2")[0] == 0
    assert run_cli(capsys, "merge", bag, parts, "--shards", "2")[0] == 0
    direct = direct_messages(bag)
    topic = "/camera/image_raw/compressed"
    _check_video(parts / "camera-drive", topic, direct[topic], "csv")
    merged = next(t for t in manifest(parts / "camera-drive")["topics"] if t["topic"] == topic)
    assert len(merged["video"]["segments"]) == 2 and merged["video"]["frames"] == 30
    one = next(t for t in manifest(whole / "camera-drive")["topics"] if t["topic"] == topic)
    assert len(one["video"]["segments"]) == 1
    assert (
        manifest(parts / "camera-drive")["options"] == manifest(whole / "camera-drive")["options"]
    )


def test_a_synthetic_mcap_drives_camera_becomes_video(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = write_drive(tmp_path / "drive", seconds=2, kind="ros2-mcap", frame_size=(64, 48)).path
    status, _, _ = run_cli(
        capsys, "extract", bag, tmp_path / "out", "--video", "--format", "parquet"
    )
    assert status == 0
    folder = tmp_path / "out" / "drive"
    for topic, messages in direct_messages(bag).items():
        if messages[0][1].__msgtype__ in CAMERA_TYPES:
            assert len(_check_video(folder, topic, messages, "parquet")) == len(messages)


def test_camera_topics_whose_names_look_like_outputs_keep_their_own_videos(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    types = store.types
    compressed_type = CAMERA_TYPES[1]
    out = io.BytesIO()
    Image.fromarray(_solid(16, 8, (10, 20, 30))).save(out, format="JPEG")
    topics = ["/cam", "/cam/video", "/cam.video", "/..", "/tf"]
    bag = tmp_path / "names.bag"
    with Writer1(bag) as writer:
        for number, topic in enumerate(topics):
            connection = writer.add_connection(topic, compressed_type, typestore=store)
            for index in range(number + 1):  # a count per topic, to tell them apart
                message = types[compressed_type](
                    header=types["std_msgs/msg/Header"](
                        seq=0,
                        stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=index),
                        frame_id="c",
                    ),
                    format="jpeg",
                    data=np.frombuffer(out.getvalue(), np.uint8),
                )
                writer.write(
                    connection, 10**9 + index, store.serialize_ros1(message, compressed_type)
                )
    assert run_cli(capsys, "extract", bag, tmp_path / "out", "--video")[0] == 0
    folder = tmp_path / "out" / "names"
    direct = direct_messages(bag)
    for topic in topics:
        assert len(_check_video(folder, topic, direct[topic], "csv")) == topics.index(topic) + 1
    assert not (folder / "tf").exists()  # a camera topic named /tf is no TF
    assert_accounted(folder, manifest(folder), sum(range(1, len(topics) + 1)))


def test_frames_a_video_cannot_hold_stay_side_files_and_are_noted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    types = store.types
    image_type, compressed_type = CAMERA_TYPES
    header = types["std_msgs/msg/Header"](
        seq=0, stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id="c"
    )

    def raw(encoding: str, width: int, height: int, step: int, size: int) -> Any:
        data = np.arange(size, dtype=np.uint8)
        return types[image_type](
            header=header,
            height=height,
            width=width,
            encoding=encoding,
            is_bigendian=0,
            step=step,
            data=data,
        )

    frames = [
        (image_type, raw("yuv422", 4, 2, 8, 16), "encoding 'yuv422'"),
        (image_type, raw("rgb8", 4, 2, 12, 20), "sizes disagree"),
        (image_type, raw("rgb8", 4, 2, 12, 0), None),  # empty: no file at all
        (compressed_type, None, "not an image format"),
        (image_type, raw("rgb8", 4, 2, 12, 24), "video"),
    ]
    bag = tmp_path / "odd.bag"
    with Writer1(bag) as writer:
        connections = {
            msgtype: writer.add_connection(
                f"/{msgtype.rsplit('/', 1)[1]}", msgtype, typestore=store
            )
            for msgtype in CAMERA_TYPES
        }
        for index, (msgtype, message, _) in enumerate(frames):
            if message is None:  # a compressedDepth header before the PNG: not Pillow's
                message = types[compressed_type](
                    header=header,
                    format="16UC1; compressedDepth",
                    data=np.frombuffer(b"\0" * 12 + b"\x89PNG\r\n\x1a\n", np.uint8),
                )
            writer.write(connections[msgtype], 10 + index, store.serialize_ros1(message, msgtype))
    assert run_cli(capsys, "extract", bag, tmp_path / "out", "--video")[0] == 0
    folder = tmp_path / "out" / "odd"
    topics = {t["topic"]: t for t in manifest(folder)["topics"]}
    raw_topic, compressed = topics["/Image"], topics["/CompressedImage"]
    notes = {
        n["note"].removeprefix("frames not in the video, kept as side files: "): n["messages"]
        for n in raw_topic["notes"]
    }
    assert notes == {
        "encoding 'yuv422' (video is 8-bit gray, color or Bayer)": 1,
        "sizes disagree with the data": 1,
        "frames kept as .bin, exactly their bytes: data is not step x height bytes": 1,
    }
    assert raw_topic["side_files"] == 2 and raw_topic["video"]["frames"] == 1
    assert sorted(p.name for p in (folder / "Image.files").iterdir()) == ["10.bin", "11.bin"]
    assert [c["data"] for c in _table(folder / "Image.csv")][2] == ""
    assert compressed["notes"][0]["note"].endswith(
        "not an image format Pillow reads (JPEG, PNG, ...)"
    )
    assert "video" not in compressed and compressed["side_files"] == 1
    assert_accounted(folder, manifest(folder), len(frames))
