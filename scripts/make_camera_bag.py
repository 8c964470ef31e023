"""Write tests/data/bags/camera-drive.bag: a small ROS 1 bag with camera topics, for the demo.

None of the real bags we may redistribute carries a camera topic, so this one is generated: a
3-second drive seen by a front camera, drawn with Pillow (sky, road, lane marks coming closer, a
frame counter), as the two kinds of camera message ROS drivers publish:

- `/camera/image_raw/compressed` sensor_msgs/msg/CompressedImage, JPEG, 320x240, 10 Hz;
- `/camera/image_raw` sensor_msgs/msg/Image, rgb8, 80x60, 2 Hz (the processor writes PNG);
- `/camera/camera_info` sensor_msgs/msg/CameraInfo, 10 Hz (a pinhole model for 320x240).

The content is a pure function of this file (no randomness, fixed times), so running it again
gives the same messages; only the JPEG bytes may differ with another Pillow/libjpeg version.

    python scripts/make_camera_bag.py [OUT.bag]   # default: tests/data/bags/camera-drive.bag
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw
from rosbags.rosbag1 import Writer
from rosbags.typesys import Stores, get_typestore

DEFAULT_OUT = (
    Path(__file__).resolve().parent.parent / "tests" / "data" / "bags" / "camera-drive.bag"
)
START_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z
CAMERA_HZ, RAW_HZ, SECONDS = 10, 2, 3
WIDTH, HEIGHT = 320, 240
RAW_WIDTH, RAW_HEIGHT = 80, 60
JPEG_QUALITY = 80
COMPRESSED = ("/camera/image_raw/compressed", "sensor_msgs/msg/CompressedImage")
RAW = ("/camera/image_raw", "sensor_msgs/msg/Image")
INFO = ("/camera/camera_info", "sensor_msgs/msg/CameraInfo")


def scene(index: int) -> Image.Image:
    """Frame `index` of the drive: a horizon, a road narrowing to it, lane marks moving closer."""
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    horizon = HEIGHT * 2 // 5
    for y in range(horizon):  # sky: lighter towards the horizon
        shade = 120 + 100 * y // horizon
        draw.line([(0, y), (WIDTH, y)], fill=(shade // 2, shade * 3 // 4, 235))
    draw.rectangle([0, horizon, WIDTH, HEIGHT], fill=(70, 120, 60))  # fields
    centre = WIDTH // 2
    draw.polygon(
        [(centre - 8, horizon), (centre + 8, horizon), (WIDTH - 10, HEIGHT), (10, HEIGHT)],
        fill=(90, 90, 95),
    )
    depth = HEIGHT - horizon
    for mark in range(6):  # dashes at a depth that advances with the frame
        near = ((mark * 10 + index * 3) % 60) / 60
        far = near + 0.06
        y0, y1 = horizon + int(depth * near**2), horizon + int(depth * min(far, 1.0) ** 2)
        half0, half1 = 1 + int(5 * near), 1 + int(5 * min(far, 1.0))
        draw.polygon(
            [
                (centre - half0, y0),
                (centre + half0, y0),
                (centre + half1, y1),
                (centre - half1, y1),
            ],
            fill=(240, 240, 240),
        )
    draw.ellipse([250, 18, 282, 50], fill=(255, 220, 120))  # sun
    draw.rectangle([6, 6, 118, 22], fill=(0, 0, 0))
    draw.text((10, 8), f"frame {index:02d}  t={index / CAMERA_HZ:.1f} s", fill=(255, 255, 255))
    return image


def messages(store: Any) -> Iterator[tuple[str, str, int, Any]]:
    """(topic, type, log time ns, message) in log-time order."""
    types = store.types
    header_cls, time_cls = types["std_msgs/msg/Header"], types["builtin_interfaces/msg/Time"]
    roi = types["sensor_msgs/msg/RegionOfInterest"]
    focal = WIDTH / 2  # a 90-degree horizontal field of view
    intrinsics = np.array([focal, 0, WIDTH / 2, 0, focal, HEIGHT / 2, 0, 0, 1], dtype=np.float64)
    step = 10**9 // CAMERA_HZ
    for index in range(SECONDS * CAMERA_HZ):
        t = START_NS + index * step
        header = header_cls(
            seq=index, stamp=time_cls(sec=t // 10**9, nanosec=t % 10**9), frame_id="camera"
        )
        frame = scene(index)
        jpeg = io.BytesIO()
        frame.save(jpeg, format="JPEG", quality=JPEG_QUALITY)
        yield (
            *COMPRESSED,
            t,
            types[COMPRESSED[1]](
                header=header, format="jpeg", data=np.frombuffer(jpeg.getvalue(), dtype=np.uint8)
            ),
        )
        yield (
            *INFO,
            t,
            types[INFO[1]](
                header=header,
                height=HEIGHT,
                width=WIDTH,
                distortion_model="plumb_bob",
                D=np.zeros(5, dtype=np.float64),
                K=intrinsics,
                R=np.eye(3, dtype=np.float64).reshape(9),
                P=np.array([*intrinsics[:3], 0, *intrinsics[3:6], 0, *intrinsics[6:], 0]),
                binning_x=0,
                binning_y=0,
                roi=roi(x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
            ),
        )
        if index % (CAMERA_HZ // RAW_HZ) == 0:
            small = np.asarray(frame.resize((RAW_WIDTH, RAW_HEIGHT)), dtype=np.uint8)
            yield (
                *RAW,
                t,
                types[RAW[1]](
                    header=header,
                    height=RAW_HEIGHT,
                    width=RAW_WIDTH,
                    encoding="rgb8",
                    is_bigendian=0,
                    step=RAW_WIDTH * 3,
                    data=small.reshape(-1),
                ),
            )


def write(path: Path) -> dict[str, int]:
    """Write the bag to `path` (replacing it); returns the message count per topic."""
    store = get_typestore(Stores.ROS1_NOETIC)
    path.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    with Writer(path) as writer:
        connections: dict[str, Any] = {}
        for topic, msgtype, t, message in messages(store):
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=store)
            writer.write(connections[topic], t, store.serialize_ros1(message, msgtype))
            counts[topic] = counts.get(topic, 0) + 1
    return counts


def main(argv: list[str]) -> None:
    out = Path(argv[0]) if argv else DEFAULT_OUT
    counts = write(out)
    print(f"{out}: {out.stat().st_size:,} bytes, {counts}")


if __name__ == "__main__":
    main(sys.argv[1:])
