"""Peak memory of the processor for one bag split across few and across many topics.

    python scripts/bench_memory.py [--megabytes 200] [--topics 8 64] [--format csv|parquet]

Writes (once, under .bench/) a ROS 1 bag of IMU messages dealt round-robin over N topics,
the same messages for every N, extracts each as its own process and prints the process's
peak resident set size. Tables buffer messages before they are written; one budget for
all of them (docs/processor.md, "Performance") keeps peak memory from growing with the
number of topics. Target (issue 16): the largest N within 1.5x of the smallest.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.bench_processor import BENCH, measure  # noqa: E402
from scripts.synthetic_bags import write_split_imu  # noqa: E402

TARGET = 1.5


def ensure_bag(megabytes: float, topics: int) -> Path:
    path = BENCH / f"imu-{megabytes:g}mb-{topics}-topics.bag"
    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        write_split_imu(partial, megabytes=megabytes, topics=topics)
        partial.rename(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description="Processor peak memory against topic count.")
    parser.add_argument("--megabytes", type=float, default=200.0, help="bag size (default 200)")
    parser.add_argument("--topics", type=int, nargs="+", default=[8, 64], metavar="N")
    parser.add_argument("--format", choices=["csv", "parquet"], default="csv")
    args = parser.parse_args()
    BENCH.mkdir(exist_ok=True)
    out = BENCH / "memory-out"
    rows = []
    for topics in sorted(set(args.topics)):
        bag = ensure_bag(args.megabytes, topics)
        shutil.rmtree(out, ignore_errors=True)
        command = [sys.executable, "-m", "processor", "extract", str(bag), str(out)]
        result = measure(f"{topics} topics", [*command, "--format", args.format])
        shutil.rmtree(out, ignore_errors=True)
        if not result.ok:
            print(f"{topics} topics: FAILED: {result.detail}")
            return 1
        rows.append((topics, result.peak_rss_mb, result.seconds))
    size = ensure_bag(args.megabytes, rows[0][0]).stat().st_size / 1e6
    print(f"\nbag: {size:.0f} MB of sensor_msgs/Imu, {args.format}\n")
    print(f"{'topics':>8}{'peak RSS MB':>14}{'seconds':>10}")
    for topics, rss, seconds in rows:
        print(f"{topics:>8}{rss:>14.0f}{seconds:>10.2f}")
    ratio = rows[-1][1] / rows[0][1]
    verdict = "ok" if ratio <= TARGET else "OVER TARGET"
    print(
        f"\npeak RSS, {rows[-1][0]} topics / {rows[0][0]} topics: {ratio:.2f}  "
        f"(target <= {TARGET}: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
