"""Benchmark the processor against the rosbags decode floor and other readers (issue 17).

    python scripts/bench_processor.py [--size 120s|1GB] [--kinds ros1,ros2-mcap,ros2-sqlite3]
                                      [--repeat 3] [--no-anchors]
    make bench-processor [SIZE=1GB]
    python scripts/bench_processor.py --kinds tf-ros2-mcap,tf3-ros2-mcap   # /tf alone

`--kinds` also takes bags of /tf alone: tf-ros2-mcap (300k TFMessages of 5 transforms),
tf3-ros2-mcap (as many from 3 publishers: 1, 3 and 5 transforms), tf-ros1, tf3-ros1.

One run prints, for a synthetic drive of each kind (IMU 200 Hz, GNSS 10 Hz, JPEG camera
10 Hz, /tf TFMessage 100 Hz with 5 transforms, odometry 50 Hz; scripts/synthetic_bags.py):
- the decode floor: rosbags reads and deserializes every message and writes nothing;
- the processor: `python -m processor extract` of every topic, to CSV and to Parquet;
- the anchors, each installed by this script into its own venv under .bench/ (never the
  product's dependencies); if one cannot be installed, it says so and goes on:
  bagpy (`bagreader(bag).message_by_topic(topic)` for every topic) on ROS 1, and
  Foxglove's mcap + mcap-ros2-support (`iter_decoded_messages`) on MCAP;
- sharding: the bag as 2 shards run side by side, then `merge`, against one unsharded run;
- start-up: the processor's import time next to that of rosbags' AnyReader.

Each tool runs as its own process on a warm page cache; wall time includes interpreter
start-up for all three alike; the floor and the processor run --repeat times, interleaved,
and the fastest run of each counts (a failed run is reported instead). Before every run
the previous output is removed and the disk synced, so no run pays for the write-back of
the one before it. Peak memory is each process's maximum resident set size.
Targets (issue 17): >= 1.0x the decode floor, >= 10x bagpy, >= 2x mcap-ros2-support,
peak RSS < 200 MB on 1 GB, 2 shards with the merge <= 0.6x of one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / ".bench"
BAGPY_VENV = BENCH / "bagpy-venv"
BAGPY_REQUIREMENT = "bagpy==0.5"
MCAP_VENV = BENCH / "mcap-venv"
MCAP_REQUIREMENTS = ("mcap==1.6.0", "mcap-ros2-support==0.6.0")
KINDS = ("ros1", "ros2-mcap", "ros2-sqlite3")
# Bags of /tf alone (scripts/synthetic_bags.write_tf): 300k TFMessages of 5 transforms, and
# the same count from 3 publishers with frame lists of 1, 3 and 5 transforms, interleaved.
TF_MESSAGES = 300_000
TF_KINDS = {"tf-ros2-mcap": 1, "tf3-ros2-mcap": 3, "tf-ros1": 1, "tf3-ros1": 3}
SIZES = {"120s": {"seconds": 120.0}, "1GB": {"megabytes": 1000.0}}

FLOOR = """
import sys
from pathlib import Path
from rosbags.highlevel import AnyReader
count = 0
with AnyReader([Path(sys.argv[1])]) as reader:
    for connection, _, raw in reader.messages():
        reader.deserialize(raw, connection.msgtype)
        count += 1
print(count)
"""

MCAP = """
import sys
from pathlib import Path
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
count = 0
for path in sorted(Path(sys.argv[1]).glob("*.mcap")):
    with path.open("rb") as file:
        reader = make_reader(file, decoder_factories=[DecoderFactory()])
        for _ in reader.iter_decoded_messages():
            count += 1
print(count)
"""

IMPORT_TIME = """
import sys, time
began = time.perf_counter()
for module in sys.argv[1:]:
    __import__(module)
print(time.perf_counter() - began)
"""

BAGPY = """
import sys
import bagpy
reader = bagpy.bagreader(sys.argv[1], verbose=False)
for topic in reader.topic_table["Topics"]:
    reader.message_by_topic(topic)
"""


@dataclass(frozen=True)
class Measurement:
    name: str
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    ok: bool
    detail: str = ""
    note: str = ""
    """What else was measured (sharding: each shard's CPU, the merge's share)."""


def measure(name: str, command: list[str], cwd: Path | None = None) -> Measurement:
    """Run `command`; wall time and the child's own peak RSS (wait4, not the process tree)."""
    began = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - began
    process.returncode = os.waitstatus_to_exitcode(status)
    out = process.stdout.read().decode(errors="replace") if process.stdout else ""
    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
    ok = process.returncode == 0
    detail = "" if ok else (err.strip().splitlines() or [out.strip()])[-1]
    cpu = usage.ru_utime + usage.ru_stime
    return Measurement(name, seconds, cpu, usage.ru_maxrss / 1024, ok, detail)


def fastest_interleaved(
    runs: Sequence[Callable[[], Measurement]], repeat: int, before_each: Callable[[], None]
) -> list[Measurement]:
    """Run each of `runs` `repeat` times, taking turns; per run, its fastest measurement.

    Taking turns spreads the machine's noise over every tool alike. A failed measurement
    is kept over any success, so a flaky failure is never hidden by a good run.
    """
    best: list[Measurement | None] = [None] * len(runs)
    for _ in range(max(repeat, 1)):
        for index, run in enumerate(runs):
            before_each()
            result = run()
            kept = best[index]
            if kept is None or (kept.ok and (not result.ok or result.seconds < kept.seconds)):
                best[index] = result
    return [result for result in best if result is not None]


def bag_kind(kind: str) -> str:
    """The bag format of a benchmark kind (a /tf bag's too)."""
    return kind.split("-", 1)[1] if kind in TF_KINDS else kind


def ensure_bag(kind: str, size: str) -> Path:
    """The synthetic drive of `kind` and `size` (a /tf bag: its own size), written once
    into .bench/."""
    fmt = bag_kind(kind)
    stem = f"{kind}-{TF_MESSAGES // 1000}k" if kind in TF_KINDS else f"drive-{size}-{kind}"
    path = BENCH / f"{stem}{'.bag' if fmt == 'ros1' else ''}"
    if not path.exists():
        sys.path.insert(0, str(ROOT))
        from scripts.synthetic_bags import write_drive, write_tf

        print(f"generating {path.name} ...", flush=True)
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.unlink(missing_ok=True)
        if kind in TF_KINDS:
            drive = write_tf(partial, messages=TF_MESSAGES, publishers=TF_KINDS[kind], kind=fmt)
        else:
            drive = write_drive(partial, kind=kind, **SIZES[size])  # type: ignore[arg-type]
        if fmt != "ros1":  # a ROS 2 bag folder names its files after itself
            for file in partial.iterdir():
                if file.name.startswith(partial.name):
                    file.rename(partial / file.name.replace(partial.name, path.name, 1))
            meta = partial / "metadata.yaml"
            meta.write_text(meta.read_text().replace(partial.name, path.name))
        partial.rename(path)
        print(f"  {drive.seconds:.0f} s of drive, {drive.counts}", flush=True)
    return path


def bag_bytes(path: Path) -> int:
    if path.is_dir():
        return sum(file.stat().st_size for file in path.iterdir())
    return path.stat().st_size


def warm(path: Path) -> None:
    """Read the bag once so that every tool reads it from the page cache."""
    for file in path.iterdir() if path.is_dir() else [path]:
        with file.open("rb") as stream:
            while stream.read(1 << 24):
                pass


def ensure_venv(venv: Path, requirements: Sequence[str], module: str) -> Path | None:
    """A venv of its own with `requirements` (installed once), or None if that fails."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", f"import {module}"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    print(f"installing {' '.join(requirements)} into {venv} ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *requirements],
            check=True,
            timeout=900,
        )
        subprocess.run(probe, check=True, capture_output=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as err:
        print(f"{module} unavailable ({err}); its ratio is left out", flush=True)
        return None
    return python


def import_seconds(modules: Sequence[str], repeat: int = 5) -> float:
    """The fastest of `repeat` fresh interpreters importing `modules`."""
    command = [sys.executable, "-c", IMPORT_TIME, *modules]
    return min(float(subprocess.check_output(command, cwd=ROOT)) for _ in range(repeat))


@dataclass
class KindResult:
    kind: str
    size_mb: float
    rows: list[Measurement]
    ratios: list[str]


def sharded(bag: Path, out: Path, shards: int) -> Measurement:
    """`shards` shard runs side by side, then `merge`: one wall time, the largest peak RSS."""
    began = time.perf_counter()
    base = [sys.executable, "-m", "processor"]
    processes = [
        subprocess.Popen(
            [*base, "extract", str(bag), str(out), "--shard", f"{index}/{shards}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for index in range(1, shards + 1)
    ]
    peaks, cpus, failures = [], [], []
    for process in processes:
        _, status, usage = os.wait4(process.pid, 0)
        peaks.append(usage.ru_maxrss / 1024)
        cpus.append(usage.ru_utime + usage.ru_stime)
        if os.waitstatus_to_exitcode(status) != 0:
            failures.append(
                (process.stderr.read().decode(errors="replace") if process.stderr else "").strip()
            )
    merge = measure("merge", [*base, "merge", str(bag), str(out), "--shards", str(shards)])
    seconds = time.perf_counter() - began
    ok = not failures and merge.ok
    detail = failures[0].splitlines()[-1] if failures and failures[0] else merge.detail
    note = (
        f"CPU s per shard {', '.join(f'{c:.2f}' for c in cpus)}; merge {merge.seconds:.2f} s "
        f"wall ({merge.seconds / seconds:.0%} of the sharded run), {merge.cpu_seconds:.2f} s "
        f"CPU; load average {os.getloadavg()[0]:.1f} after"
    )
    return Measurement(
        f"{shards} shards + merge (csv)",
        seconds,
        sum(cpus) + merge.cpu_seconds,
        max([*peaks, merge.peak_rss_mb]),
        ok,
        detail,
        note,
    )


def bench_kind(kind: str, args: argparse.Namespace) -> KindResult:
    bag = ensure_bag(kind, args.size)
    size_mb = bag_bytes(bag) / 1e6
    warm(bag)
    out = BENCH / "out"

    def clean() -> None:
        shutil.rmtree(out, ignore_errors=True)
        os.sync()

    def extract(fmt: str) -> Callable[[], Measurement]:
        command = [sys.executable, "-m", "processor", "extract", str(bag), str(out)]
        return lambda: measure(f"processor ({fmt})", [*command, "--format", fmt])

    floor_command = [sys.executable, "-c", FLOOR, str(bag)]
    runs = [
        lambda: measure("rosbags decode floor", floor_command),
        extract("csv"),
        extract("parquet"),
    ]
    if args.shards > 1:
        runs.append(lambda: sharded(bag, out, args.shards))
    rows = fastest_interleaved(runs, args.repeat, before_each=clean)
    clean()
    anchor = None if args.no_anchors else run_anchor(bag_kind(kind), bag)
    ratios = _ratios(bag_kind(kind), rows, anchor, args.shards)
    if anchor is not None:
        rows.append(anchor)
    return KindResult(kind, size_mb, rows, ratios)


def _ratios(
    kind: str, rows: list[Measurement], anchor: Measurement | None, shards: int
) -> list[str]:
    """The issue's figures for one drive, each beside its target."""
    floor, csv_run, parquet_run = rows[:3]
    ratios = []
    for run in (csv_run, parquet_run):
        if floor.ok and run.ok:
            ratio = floor.seconds / run.seconds
            ratios.append(f"{run.name} / decode floor: {ratio:.2f}x  (target >= 1.0x)")
    if shards > 1 and rows[3].ok and csv_run.ok:
        ratio = rows[3].seconds / csv_run.seconds
        cpu = rows[3].cpu_seconds / csv_run.cpu_seconds
        ratios.append(
            f"{shards} shards + merge / one run (csv): {ratio:.2f} of the wall time  (target "
            f"<= 0.6), {cpu:.2f} of the CPU time; {rows[3].note}"
        )
    if anchor is not None and anchor.ok and csv_run.ok:
        target = 10 if kind == "ros1" else 2
        ratio = anchor.seconds / csv_run.seconds
        ratios.append(f"processor (csv) / {anchor.name}: {ratio:.1f}x  (target >= {target}x)")
    elif anchor is not None and not anchor.ok:
        ratios.append(f"{anchor.name}: could not read the bag ({anchor.detail})")
    for run in (csv_run, parquet_run):
        ratios.append(f"{run.name} peak RSS: {run.peak_rss_mb:.0f} MB  (target < 200 MB on 1 GB)")
    return ratios


def run_anchor(kind: str, bag: Path) -> Measurement | None:
    """bagpy on ROS 1, Foxglove's mcap decoder on MCAP; none for sqlite3."""
    if kind == "ros2-mcap":
        python = ensure_venv(MCAP_VENV, MCAP_REQUIREMENTS, "mcap_ros2.decoder")
        return (
            None
            if python is None
            else measure("mcap-ros2-support", [str(python), "-c", MCAP, str(bag)])
        )
    if kind != "ros1":
        return None
    python = ensure_venv(BAGPY_VENV, [BAGPY_REQUIREMENT], "bagpy")
    if python is None:
        return None
    work = BENCH / "bagpy-work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    copy = work / bag.name  # bagpy writes its CSVs beside the bag
    os.link(bag, copy)
    try:
        return measure("bagpy", [str(python), "-c", BAGPY, str(copy)], cwd=work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_kind(result: KindResult) -> None:
    print(f"\n{result.kind}: {result.size_mb:.0f} MB\n")
    print(f"{'tool':<28}{'seconds':>10}{'CPU s':>8}{'MB/s':>10}{'peak RSS MB':>14}  status")
    for r in result.rows:
        status = "ok" if r.ok else f"FAILED: {r.detail}"
        rate = result.size_mb / r.seconds
        print(
            f"{r.name:<28}{r.seconds:>10.2f}{r.cpu_seconds:>8.2f}{rate:>10.1f}"
            f"{r.peak_rss_mb:>14.0f}  {status}"
        )
    print()
    for line in result.ratios:
        print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark the processor (see module doc).")
    parser.add_argument("--size", choices=sorted(SIZES), default="120s", help="drive size")
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"comma-separated bag kinds, of {', '.join([*KINDS, *TF_KINDS])}",
    )
    parser.add_argument("--no-anchors", action="store_true", help="skip bagpy and mcap")
    parser.add_argument("--shards", type=int, default=2, help="shards run side by side (1: none)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the floor and the processor; the fastest counts (default 3)",
    )
    args = parser.parse_args()
    kinds = [kind for kind in args.kinds.split(",") if kind]
    if unknown := sorted(set(kinds) - set(KINDS) - set(TF_KINDS)):
        parser.error(f"unknown kinds: {', '.join(unknown)}")

    load = os.getloadavg()[0]  # before our own runs raise it
    BENCH.mkdir(exist_ok=True)
    results = [bench_kind(kind, args) for kind in kinds]
    # What each run imports before its first message: the CSV writer and the Parquet writer
    # are imported when the first table opens, so each is counted with its format.
    csv_import = import_seconds(["processor.cli", "processor.run", "processor.csvtext"])
    parquet_import = import_seconds(["processor.cli", "processor.run", "pyarrow.parquet"])
    rosbags_import = import_seconds(["rosbags.highlevel"])
    for result in results:
        print_kind(result)
    cores = os.cpu_count() or 1
    print(
        f"\nimport time (fastest of 5): processor CSV run {csv_import * 1000:.0f} ms, "
        f"Parquet run {parquet_import * 1000:.0f} ms, "
        f"rosbags (AnyReader) {rosbags_import * 1000:.0f} ms"
    )
    print(
        f"load average {load:.1f} on {cores} cores before the runs"
        + (
            "  (busy machine: wall times, and so the ratios, are pessimistic)"
            if load > cores / 2
            else ""
        )
    )
    failed = any(not row.ok for result in results for row in result.rows[:3])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
