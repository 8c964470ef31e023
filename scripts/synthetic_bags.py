"""Synthetic drives: a ROS 1 bag (or ROS 2 bag) with IMU 200 Hz, GNSS 10 Hz, camera 10 Hz,
a busy /tf (tf2_msgs/TFMessage at 100 Hz, 5 transforms each) and odometry at 50 Hz.

Used by the processor's benchmark (sized in megabytes) and by tests that need camera
frames, which none of the real test bags carry. Content is deterministic for a seed.
`write_split_imu` writes one IMU stream spread over any number of topics, for the memory
benchmark (scripts/bench_memory.py).

    python scripts/synthetic_bags.py OUT.bag --megabytes 100 [--compression lz4|bz2]
"""

from __future__ import annotations

import argparse
import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

IMU_HZ, GNSS_HZ, CAMERA_HZ, TF_HZ, ODOM_HZ = 200, 10, 10, 100, 50
START_NS = 1_700_000_000 * 10**9
TOPICS = {
    "/imu/data": "sensor_msgs/msg/Imu",
    "/gnss/fix": "sensor_msgs/msg/NavSatFix",
    "/camera/image/compressed": "sensor_msgs/msg/CompressedImage",
    "/tf": "tf2_msgs/msg/TFMessage",
    "/odom": "nav_msgs/msg/Odometry",
}
# A robot's frames: names of one length and of several, one not ASCII (JSON escapes it).
TF_FRAMES = [
    ("odom", "base_link"),
    ("base_link", "imu_link"),
    ("base_link", "gnss"),
    ("base_link", "camera"),
    ("camera", "optical_é"),
]
RAW_CAMERA = ("/camera/image_raw", "sensor_msgs/msg/Image")


@dataclass
class Drive:
    """What was written: path, per-topic message counts, duration."""

    path: Path
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _frames(count: int, width: int, height: int, seed: int) -> list[bytes]:
    """Distinct JPEG frames (noise over a gradient: compresses like a real scene, roughly)."""
    rng = np.random.default_rng(seed)
    gradient = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    frames = []
    for _ in range(count):
        noise = rng.normal(0, 40, (height, width, 3)).astype(np.float32)
        pixels = np.clip(gradient + noise, 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=85)
        frames.append(buffer.getvalue())
    return frames


def ros1_store() -> Any:
    """rosbags' Noetic store, plus tf2_msgs/TFMessage (not in it; the definition is ROS's)."""
    store = get_typestore(Stores.ROS1_NOETIC)
    definition = "geometry_msgs/TransformStamped[] transforms"
    store.register(get_types_from_msg(definition, "tf2_msgs/msg/TFMessage"))
    return store


def drive_messages(
    store: Any, seconds: float, *, frame_size: tuple[int, int], raw_camera: bool, seed: int
) -> Iterator[tuple[str, int, object]]:
    """(topic, log time ns, message) in log-time order."""
    classes = {name: store.types[name] for name in [*TOPICS.values(), RAW_CAMERA[1]]}
    header_cls, time_cls = (
        store.types["std_msgs/msg/Header"],
        store.types["builtin_interfaces/msg/Time"],
    )
    vector, quaternion = (
        store.types["geometry_msgs/msg/Vector3"],
        store.types["geometry_msgs/msg/Quaternion"],
    )
    status_cls = store.types["sensor_msgs/msg/NavSatStatus"]
    frames = _frames(8, *frame_size, seed)
    rng = random.Random(seed)
    covariance = np.diag([0.01, 0.01, 0.01]).astype(np.float64).reshape(9)
    step_ns = 10**9 // IMU_HZ
    total = int(seconds * IMU_HZ)
    for index in range(total):
        t = START_NS + index * step_ns
        stamp = time_cls(sec=t // 10**9, nanosec=t % 10**9)

        def header(frame: str, stamp: Any = stamp, seq: int = index) -> Any:
            fields = {"stamp": stamp, "frame_id": frame}
            if "seq" in header_cls.__dataclass_fields__:  # ROS 1 headers only
                fields["seq"] = seq
            return header_cls(**fields)

        phase = index / IMU_HZ
        yield (
            "/imu/data",
            t,
            classes["sensor_msgs/msg/Imu"](
                header=header("imu"),
                orientation=quaternion(
                    x=0.0, y=0.0, z=math.sin(phase / 20), w=math.cos(phase / 20)
                ),
                orientation_covariance=covariance,
                angular_velocity=vector(x=rng.gauss(0, 0.01), y=rng.gauss(0, 0.01), z=0.05),
                angular_velocity_covariance=covariance,
                linear_acceleration=vector(x=math.sin(phase), y=rng.gauss(0, 0.1), z=9.81),
                linear_acceleration_covariance=covariance,
            ),
        )
        if index % (IMU_HZ // GNSS_HZ) == 0:
            yield (
                "/gnss/fix",
                t,
                classes["sensor_msgs/msg/NavSatFix"](
                    header=header("gnss"),
                    status=status_cls(status=0, service=1),
                    latitude=48.1 + phase * 1e-5,
                    longitude=11.5 + phase * 2e-5,
                    altitude=520.0 + rng.gauss(0, 0.5),
                    position_covariance=np.array([1.0, 0, 0, 0, 1.0, 0, 0, 0, 4.0]),
                    position_covariance_type=2,
                ),
            )
        if index % (IMU_HZ // TF_HZ) == 0:
            yield "/tf", t, _transforms(store, header, phase)
        if index % (IMU_HZ // ODOM_HZ) == 0:
            yield "/odom", t, _odometry(store, header, phase)
        if index % (IMU_HZ // CAMERA_HZ) == 0:
            frame = frames[(index // (IMU_HZ // CAMERA_HZ)) % len(frames)]
            yield (
                "/camera/image/compressed",
                t,
                classes["sensor_msgs/msg/CompressedImage"](
                    header=header("camera"),
                    format="jpeg",
                    data=np.frombuffer(frame, dtype=np.uint8),
                ),
            )
            if raw_camera:
                pixels = np.full((24, 32, 3), index % 256, dtype=np.uint8)
                pixels[:, :, 1] = np.arange(32, dtype=np.uint8)[None, :] * 8
                yield (
                    RAW_CAMERA[0],
                    t,
                    classes[RAW_CAMERA[1]](
                        header=header("camera"),
                        height=24,
                        width=32,
                        encoding="rgb8",
                        is_bigendian=0,
                        step=32 * 3,
                        data=pixels.reshape(-1),
                    ),
                )


def _transforms(
    store: Any, header: Any, phase: float, frames: list[tuple[str, str]] = TF_FRAMES
) -> Any:
    """A TFMessage of every frame of `frames`, moving with the drive."""
    types = store.types
    vector, quaternion = types["geometry_msgs/msg/Vector3"], types["geometry_msgs/msg/Quaternion"]
    stamped, transform = (
        types["geometry_msgs/msg/TransformStamped"],
        types["geometry_msgs/msg/Transform"],
    )
    return types["tf2_msgs/msg/TFMessage"](
        transforms=[
            stamped(
                header=header(parent),
                child_frame_id=child,
                transform=transform(
                    translation=vector(x=phase * (number + 1), y=0.1 * number, z=0.0),
                    rotation=quaternion(
                        x=0.0, y=0.0, z=math.sin(phase / (number + 2)), w=math.cos(phase / 7)
                    ),
                ),
            )
            for number, (parent, child) in enumerate(frames)
        ]
    )


def _odometry(store: Any, header: Any, phase: float) -> Any:
    """An Odometry message: pose and twist, each with its 6x6 covariance."""
    types = store.types
    vector, quaternion = types["geometry_msgs/msg/Vector3"], types["geometry_msgs/msg/Quaternion"]
    covariance = np.diag(np.linspace(0.01, 0.06, 6)).reshape(36) * (1 + phase / 100)
    return types["nav_msgs/msg/Odometry"](
        header=header("odom"),
        child_frame_id="base_link",
        pose=types["geometry_msgs/msg/PoseWithCovariance"](
            pose=types["geometry_msgs/msg/Pose"](
                position=types["geometry_msgs/msg/Point"](x=phase, y=phase / 3, z=0.0),
                orientation=quaternion(x=0.0, y=0.0, z=math.sin(phase / 20), w=1.0),
            ),
            covariance=covariance,
        ),
        twist=types["geometry_msgs/msg/TwistWithCovariance"](
            twist=types["geometry_msgs/msg/Twist"](
                linear=vector(x=1.0, y=0.0, z=0.0), angular=vector(x=0.0, y=0.0, z=0.05)
            ),
            covariance=covariance[::-1].copy(),
        ),
    )


def seconds_for(megabytes: float, frame_size: tuple[int, int]) -> float:
    """Drive length that makes a bag of about `megabytes` (camera frames dominate)."""
    frame = len(_frames(1, *frame_size, seed=0)[0])
    per_second = (
        CAMERA_HZ * (frame + 120) + IMU_HZ * 360 + GNSS_HZ * 130 + TF_HZ * 560 + ODOM_HZ * 760
    )
    return max(megabytes * 1e6 / per_second, 1.0)


def write_drive(
    path: Path,
    *,
    megabytes: float | None = None,
    seconds: float | None = None,
    compression: str | None = None,
    kind: str = "ros1",
    frame_size: tuple[int, int] = (640, 480),
    raw_camera: bool = False,
    seed: int = 7,
) -> Drive:
    """Write a synthetic drive of `seconds`, or of about `megabytes`, to `path`.

    `kind` is ``ros1`` (a .bag file; `compression` none, ``bz2`` or ``lz4`` chunks),
    ``ros2-mcap`` or ``ros2-sqlite3`` (a bag folder).
    """
    if seconds is None:
        seconds = seconds_for(megabytes or 10.0, frame_size)
    drive = Drive(path, seconds=seconds)
    messages = None
    if kind == "ros1":
        store = ros1_store()
        writer1 = Writer1(path)
        if compression:
            writer1.set_compression(Writer1.CompressionFormat[compression.upper()])
        with writer1:
            connections = {}
            messages = drive_messages(
                store, seconds, frame_size=frame_size, raw_camera=raw_camera, seed=seed
            )
            for topic, t, message in messages:
                msgtype = type(message).__msgtype__  # type: ignore[attr-defined]
                if topic not in connections:
                    connections[topic] = writer1.add_connection(topic, msgtype, typestore=store)
                writer1.write(connections[topic], t, store.serialize_ros1(message, msgtype))
                drive.counts[topic] = drive.counts.get(topic, 0) + 1
        return drive
    store = get_typestore(Stores.ROS2_HUMBLE)
    plugin = StoragePlugin.MCAP if kind == "ros2-mcap" else StoragePlugin.SQLITE3
    with Writer2(path, version=9, storage_plugin=plugin) as writer2:
        connections2 = {}
        for topic, t, message in drive_messages(
            store, seconds, frame_size=frame_size, raw_camera=raw_camera, seed=seed
        ):
            msgtype = type(message).__msgtype__  # type: ignore[attr-defined]
            if topic not in connections2:
                connections2[topic] = writer2.add_connection(topic, msgtype, typestore=store)
            writer2.write(connections2[topic], t, store.serialize_cdr(message, msgtype))
            drive.counts[topic] = drive.counts.get(topic, 0) + 1
    return drive


# A /tf that three nodes publish: each its own frames, so messages of three lengths.
TF_PUBLISHERS = [TF_FRAMES[:1], TF_FRAMES[1:4], TF_FRAMES]


def write_tf(path: Path, *, messages: int, publishers: int = 1, kind: str = "ros2-mcap") -> Drive:
    """A bag of `messages` /tf TFMessages at 100 Hz: 5 transforms each from one publisher,
    or, dealt in turn, the frame lists of TF_PUBLISHERS[:publishers] (ROS 1: a connection
    per publisher; ROS 2: one connection, as rosbag2 records a topic)."""
    drive = Drive(path, seconds=messages / TF_HZ)
    ros1 = kind == "ros1"
    store = ros1_store() if ros1 else get_typestore(Stores.ROS2_HUMBLE)
    msgtype = TOPICS["/tf"]
    header_cls, time_cls = (
        store.types["std_msgs/msg/Header"],
        store.types["builtin_interfaces/msg/Time"],
    )
    frame_lists = [TF_FRAMES] if publishers == 1 else TF_PUBLISHERS[:publishers]
    writer: Any = (
        Writer1(path)
        if ros1
        else Writer2(
            path,
            version=9,
            storage_plugin=StoragePlugin.MCAP if kind == "ros2-mcap" else StoragePlugin.SQLITE3,
        )
    )
    with writer:
        if ros1:
            connections = [
                writer.add_connection("/tf", msgtype, typestore=store, callerid=f"/node{number}")
                for number in range(len(frame_lists))
            ]
        else:
            connections = [writer.add_connection("/tf", msgtype, typestore=store)] * len(
                frame_lists
            )
        serialize = store.serialize_ros1 if ros1 else store.serialize_cdr
        for index in range(messages):
            t = START_NS + index * (10**9 // TF_HZ)
            stamp = time_cls(sec=t // 10**9, nanosec=t % 10**9)
            fields: dict[str, Any] = {"seq": index} if ros1 else {}

            def header(frame: str, stamp: Any = stamp, fields: dict[str, Any] = fields) -> Any:
                return header_cls(stamp=stamp, frame_id=frame, **fields)

            publisher = index % len(frame_lists)
            message = _transforms(store, header, index / TF_HZ, frame_lists[publisher])
            writer.write(connections[publisher], t, serialize(message, msgtype))
    drive.counts = {"/tf": messages}
    return drive


def write_split_imu(path: Path, *, megabytes: float, topics: int, seed: int = 7) -> Drive:
    """A ROS 1 bag of about `megabytes` of IMU messages, 1 ms apart, dealt round-robin over
    `topics` topics (`/imu/0`, `/imu/1`, ...): the same messages whatever `topics` is."""
    store = ros1_store()
    msgtype = TOPICS["/imu/data"]
    raws = [
        store.serialize_ros1(message, msgtype)
        for _, _, message in drive_messages(
            store, 64 / IMU_HZ, frame_size=(8, 8), raw_camera=False, seed=seed
        )
        if type(message).__msgtype__ == msgtype  # type: ignore[attr-defined]
    ]
    random.Random(seed).shuffle(raws)
    total = int(megabytes * 1e6 / (len(raws[0]) + 30))  # 30: record header and index entry
    drive = Drive(path, seconds=total / 1000)
    with Writer1(path) as writer:
        connections = [
            writer.add_connection(f"/imu/{index}", msgtype, typestore=store)
            for index in range(topics)
        ]
        for index in range(total):
            writer.write(connections[index % topics], START_NS + index * 10**6, raws[index % 64])
    drive.counts = {f"/imu/{i}": len(range(i, total, topics)) for i in range(topics)}
    return drive


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a synthetic drive (see module doc).")
    parser.add_argument("path", type=Path)
    parser.add_argument("--megabytes", type=float, default=100.0)
    parser.add_argument("--compression", choices=["bz2", "lz4"])
    parser.add_argument("--kind", choices=["ros1", "ros2-mcap", "ros2-sqlite3"], default="ros1")
    args = parser.parse_args()
    drive = write_drive(
        args.path, megabytes=args.megabytes, compression=args.compression, kind=args.kind
    )
    print(f"{drive.path}: {drive.seconds:.0f} s, {drive.counts}")


if __name__ == "__main__":
    main()
