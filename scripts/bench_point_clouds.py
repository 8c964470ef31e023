"""Point-cloud throughput beside the decode floor (issue 13), for scripts/bench_processor.py.

A synthetic lidar of 10 Hz spins, each a VLP-16-like PointCloud2 of 16 rings x 1 800
points with velodyne_pointcloud's fields and padding (x y z at 0/4/8, intensity at 16,
ring uint16 at 20, time float32 at 24, point_step 32), is written as a ROS 1 bag and a ROS 2
MCAP bag under .bench/. Per bag, one run prints the rosbags decode floor (every message
deserialized, nothing written), then `processor extract --point-clouds parquet` and
`--point-clouds pcd`: wall seconds, points per second and MB of bag per second, and the
processor's time over the floor's. The runs take turns --repeat times; the fastest counts.

    python scripts/bench_point_clouds.py [--seconds 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench_processor import (  # noqa: E402  (ROOT first: runs as a script too)
    BENCH,
    FLOOR,
    Measurement,
    bag_bytes,
    fastest_interleaved,
    measure,
    warm,
)

RINGS, COLUMNS, HZ = 16, 1_800, 10
START_NS = 1_700_000_000 * 10**9
POINT = np.dtype(
    {
        "names": ["x", "y", "z", "intensity", "ring", "time"],
        "formats": ["<f4", "<f4", "<f4", "<f4", "<u2", "<f4"],
        "offsets": [0, 4, 8, 16, 20, 24],
        "itemsize": 32,
    }
)
KINDS = ("ros1", "ros2-mcap")


def write_lidar(path: Path, kind: str, seconds: float, seed: int = 13) -> int:
    """A lidar bag of `seconds` at HZ; returns its message count."""
    from rosbags.rosbag1 import Writer as Writer1
    from rosbags.rosbag2 import StoragePlugin
    from rosbags.rosbag2 import Writer as Writer2
    from rosbags.typesys import Stores, get_typestore

    ros1 = kind == "ros1"
    store = get_typestore(Stores.ROS1_NOETIC if ros1 else Stores.ROS2_HUMBLE)
    types = store.types
    msgtype = "sensor_msgs/msg/PointCloud2"
    fields: list[Any] = [
        types["sensor_msgs/msg/PointField"](name=name, offset=offset, datatype=datatype, count=1)
        for name, offset, datatype in [
            ("x", 0, 7),
            ("y", 4, 7),
            ("z", 8, 7),
            ("intensity", 16, 7),
            ("ring", 20, 4),
            ("time", 24, 7),
        ]
    ]
    rng = np.random.default_rng(seed)
    count = int(seconds * HZ)
    writer = Writer1(path) if ros1 else Writer2(path, version=9, storage_plugin=StoragePlugin.MCAP)
    with writer:
        connection = writer.add_connection("/velodyne_points", msgtype, typestore=store)
        for index in range(count):
            points = np.zeros(RINGS * COLUMNS, POINT)
            for axis in ("x", "y", "z", "intensity", "time"):
                points[axis] = rng.uniform(-50, 50, len(points))
            points["ring"] = np.repeat(np.arange(RINGS, dtype=np.uint16), COLUMNS)
            log_time = START_NS + index * 10**9 // HZ
            stamp = types["builtin_interfaces/msg/Time"](
                sec=log_time // 10**9, nanosec=log_time % 10**9
            )
            header = (
                types["std_msgs/msg/Header"](seq=index, stamp=stamp, frame_id="velodyne")
                if ros1
                else types["std_msgs/msg/Header"](stamp=stamp, frame_id="velodyne")
            )
            message = types[msgtype](
                header=header,
                height=1,
                width=len(points),
                fields=fields,
                is_bigendian=False,
                point_step=POINT.itemsize,
                row_step=POINT.itemsize * len(points),
                data=np.frombuffer(points.tobytes(), np.uint8),
                is_dense=True,
            )
            raw = (
                store.serialize_ros1(message, msgtype)
                if ros1
                else store.serialize_cdr(message, msgtype)
            )
            writer.write(connection, log_time, raw)
    return count


def ensure_lidar(kind: str, seconds: float) -> tuple[Path, int]:
    path = BENCH / f"lidar-{seconds:g}s-{kind}{'.bag' if kind == 'ros1' else ''}"
    count = int(seconds * HZ)
    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        partial = path.with_name(f"{path.stem}-partial{path.suffix}")
        shutil.rmtree(partial, ignore_errors=True)
        partial.unlink(missing_ok=True)
        write_lidar(partial, kind, seconds)
        if kind != "ros1":  # a ROS 2 bag folder names its files after itself
            for file in partial.iterdir():
                if file.name.startswith(partial.name):
                    file.rename(partial / file.name.replace(partial.name, path.name, 1))
            meta = partial / "metadata.yaml"
            meta.write_text(meta.read_text().replace(partial.name, path.name))
        partial.rename(path)
    return path, count


def _runs(bag: Path, out: Path) -> list[Callable[[], Measurement]]:
    """The floor, then the processor to Parquet point tables and to PCD."""
    extract = [sys.executable, "-m", "processor", "extract", str(bag), str(out)]

    def processor(form: str) -> Callable[[], Measurement]:
        return lambda: measure(f"processor ({form})", [*extract, "--point-clouds", form])

    floor = [sys.executable, "-c", FLOOR, str(bag)]
    return [lambda: measure("rosbags decode floor", floor), processor("parquet"), processor("pcd")]


def bench(seconds: float, repeat: int) -> list[str]:
    """The lines to print: per bag, a row per run and the ratios."""
    lines: list[str] = []
    out = BENCH / "out-clouds"

    def clean() -> None:
        shutil.rmtree(out, ignore_errors=True)
        os.sync()

    for kind in KINDS:
        bag, messages = ensure_lidar(kind, seconds)
        warm(bag)
        size_mb = bag_bytes(bag) / 1e6
        points = messages * RINGS * COLUMNS
        runs = _runs(bag, out)
        rows: list[Measurement] = fastest_interleaved(runs, repeat, before_each=clean)
        clean()
        lines.append(
            f"\npoint clouds, {kind}: {size_mb:.0f} MB, {messages} clouds of "
            f"{RINGS * COLUMNS} points ({points / 1e6:.1f} M points)\n"
        )
        lines.append(
            f"{'tool':<28}{'seconds':>10}{'CPU s':>8}{'M points/s':>12}{'MB/s':>10}  status"
        )
        for row in rows:
            status = "ok" if row.ok else f"FAILED: {row.detail}"
            lines.append(
                f"{row.name:<28}{row.seconds:>10.2f}{row.cpu_seconds:>8.2f}"
                f"{points / row.seconds / 1e6:>12.2f}{size_mb / row.seconds:>10.1f}  {status}"
            )
        floor = rows[0]
        for row in rows[1:]:
            if floor.ok and row.ok:
                lines.append(
                    f"{row.name} / decode floor: {floor.seconds / row.seconds:.2f}x "
                    f"(the floor converts no points)"
                )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description="Point-cloud throughput (see module doc).")
    parser.add_argument("--seconds", type=float, default=20.0, help="lidar seconds (10 Hz)")
    parser.add_argument("--repeat", type=int, default=3, help="runs each; the fastest counts")
    args = parser.parse_args()
    BENCH.mkdir(exist_ok=True)
    for line in bench(args.seconds, args.repeat):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
