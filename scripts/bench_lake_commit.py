"""Benchmark: committing 1,000 bags' outputs into the lake is one commit per table.

Synthetic outputs shaped as the processor writes them (manifest.json, info.json, one Parquet
table per topic: IMU and GNSS), committed by the lakehouse as the orchestrator does after a
run. Prints the time and each table's commit count; tests/lakehouse/test_bench.py checks the
counts on a smaller run (times are never asserted).

    .venv/bin/python scripts/bench_lake_commit.py [--bags 1000] [--rows 100]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path, PurePosixPath

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from orchestrator.lakehouse import commit_run
from orchestrator.lakehouse.delta import Target, commit_count
from orchestrator.outcome import BagResult, BagStatus, OutputCounts

START_NS = 1_764_547_200_000_000_000  # 2025-12-01T00:00:00Z
TOPICS = {"/imu/data": "sensor_msgs/msg/Imu", "/gps/fix": "sensor_msgs/msg/NavSatFix"}


def _rows(msgtype: str, times: np.ndarray, extra: dict[str, pa.Array]) -> pa.Table:
    n = len(times)
    columns: dict[str, pa.Array] = {
        "log_time_ns": pa.array(times, pa.int64()),
        "log_time": pa.array(times, pa.int64()).view(pa.timestamp("ns", tz="UTC")),
        "header.stamp.sec": pa.array((times // 10**9).astype(np.uint32)),
    }
    if msgtype.endswith("NavSatFix"):
        columns["latitude"] = pa.array(48.0 + np.arange(n) * 1e-5)
        columns["longitude"] = pa.array(11.0 + np.arange(n) * 1e-5)
    else:
        columns["linear_acceleration.x"] = pa.array(np.sin(np.arange(n, dtype=float)))
    return pa.table({**columns, **extra})


def write_bag_output(
    out: Path, name: str, rows: int, day: int = 0, extra: dict[str, pa.Array] | None = None
) -> PurePosixPath:
    """A complete processor output folder for bag `raw/<name>.bag`; returns its result dir."""
    folder = out / name
    folder.mkdir(parents=True)
    start = START_NS + day * 86_400 * 10**9
    times = start + np.arange(rows, dtype=np.int64) * 10_000_000
    topics = []
    for topic, msgtype in TOPICS.items():
        stem = topic.strip("/").replace("/", ".")
        pq.write_table(_rows(msgtype, times, extra or {}), folder / f"{stem}.parquet")
        topics.append(
            {"topic": topic, "msgtype": msgtype, "messages": rows, "files": [f"{stem}.parquet"]}
        )
    manifest = {
        "bag": name,
        "status": "complete",
        "messages": rows * len(TOPICS),
        "topics": topics,
        "skipped": [],
        "processor_version": "bench",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    info = {"kind": "ROS 1 bag", "storage": "rosbag1", "size_bytes": rows * 100}
    info |= {"start_ns": int(times[0]), "end_ns": int(times[-1]), "duration_s": rows / 100}
    (folder / "info.json").write_text(json.dumps(info))
    (folder / "_SUCCESS").write_text("")
    return PurePosixPath("out") / name


def result_for(name: str, result_dir: PurePosixPath) -> BagResult:
    return BagResult(
        PurePosixPath("raw") / f"{name}.bag", BagStatus.SUCCEEDED, result_dir, OutputCounts()
    )


def bench(root: Path, bags: int, rows: int) -> dict[str, int]:
    results = [
        result_for(f"bag-{i:04d}", write_bag_output(root / "out", f"bag-{i:04d}", rows, day=i % 30))
        for i in range(bags)
    ]
    lake = Target(str(root / "lake"))
    started = time.perf_counter()
    committed = commit_run(results, root, lake, "bench-run")
    seconds = time.perf_counter() - started
    counts = {name: commit_count(lake, f"tables/{name}") for name in committed.tables}
    print(f"{bags} bags x {len(TOPICS)} topics x {rows} rows: committed in {seconds:.1f} s")
    for name, count in sorted(counts.items()):
        print(f"  {name}: {count} commit(s)")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bags", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        bench(Path(scratch), args.bags, args.rows)


if __name__ == "__main__":
    main()
