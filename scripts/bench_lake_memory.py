"""Benchmark: the lake commit's peak memory does not grow with a topic table's size.

One synthetic bag (IMU and GNSS topics, Parquet as the processor writes them) is committed into
a fresh lake by a child process, at two sizes side by side; the script prints each child's peak
RSS (getrusage ru_maxrss) above the same child's RSS before the commit, and their ratio. A
commit that holds a topic's table whole grows with it (ratio near the size ratio); a streamed one
stays flat (ratio near 1). Times and sizes are printed, never asserted.

    .venv/bin/python -m scripts.bench_lake_memory [--rows 1000000] [--factor 4]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _child(root: Path, rows: int) -> None:
    from orchestrator.lakehouse import commit_run
    from orchestrator.lakehouse.delta import Target
    from scripts.bench_lake_commit import result_for, write_bag_output

    result = result_for("big", write_bag_output(root / "out", "big", rows))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    commit_run([result], root, Target(str(root / "lake")), "bench-memory")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"before_kib": before, "peak_kib": peak, "seconds": seconds}))


def measure(rows: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        done = subprocess.run(
            [sys.executable, "-m", "scripts.bench_lake_memory", "--child", scratch, str(rows)],
            capture_output=True,
            text=True,
            check=True,
        )
        size = sum(f.stat().st_size for f in Path(scratch, "out").rglob("*.parquet"))
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return figures | {"parquet_mb": size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(Path(args.child[0]), int(args.child[1]))
        return
    growth = []
    for rows in (args.rows, args.rows * args.factor):
        figures = measure(rows)
        grown = (figures["peak_kib"] - figures["before_kib"]) / 1024
        growth.append(grown)
        print(
            f"{rows:>10,} rows per topic ({figures['parquet_mb']:.0f} MB of Parquet): peak RSS "
            f"{figures['peak_kib'] / 1024:.0f} MiB, {grown:.0f} MiB above the start of the "
            f"commit, {figures['seconds']:.1f} s"
        )
    print(f"x{args.factor} rows -> x{growth[1] / max(growth[0], 1):.2f} commit memory")


if __name__ == "__main__":
    main()
