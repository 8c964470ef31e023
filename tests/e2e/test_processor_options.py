"""Issue 13 all the way through on a real bag: the orchestrator's slice and sync options reach
the real processor, its outputs are the slice and the synchronized table, freshness tells the
outputs apart, and the lake's catalog records the options."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable
from rosbags.highlevel import AnyReader

from orchestrator.lakehouse.names import sync_table_name
from processor import cli as processor_cli
from tests.orchestrator.helpers import BAGS, REPO, copy_bags

pytestmark = pytest.mark.slow

BAG = "jackal-imu-odom.bag"  # 61 s of /imu/data (3061) and the odometry (3060)
IMU, ODOM = "/imu/data", "/jackal_velocity_controller/odom"
SLICE = ["--start", "+10", "--end", "+20.5"]
SYNC = ["--sync", IMU, "--with", ODOM]


def processor_has(*flags: str) -> bool:
    extract = next(
        action.choices["extract"]
        for action in processor_cli.parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    known = {flag for action in extract._actions for flag in action.option_strings}
    return set(flags) <= known


def needs(*flags: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not processor_has(*flags), reason=f"the processor has no {' '.join(flags)} yet (issue 13)"
    )


def orchestrator(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "extract", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
    )


def imu_in_slice(start_s: float, end_s: float) -> int:
    """/imu/data messages logged in [bag start + start_s, bag start + end_s), read by rosbags."""
    with AnyReader([BAGS / BAG]) as reader:
        low = reader.start_time + int(start_s * 1e9)
        high = reader.start_time + int(end_s * 1e9)
        connections = [c for c in reader.connections if c.topic == IMU]
        return sum(1 for _, t, _ in reader.messages(connections=connections) if low <= t < high)


def manifest(out: Path) -> dict:
    return json.loads((out / "jackal-imu-odom" / "manifest.json").read_text(encoding="utf-8"))


def topic_messages(document: dict, topic: str) -> int:
    return next(t["messages"] for t in document["topics"] if t["topic"] == topic)


@needs("--start", "--end")
def test_a_sliced_run_extracts_the_slice_and_knows_it_from_a_whole_one(tmp_path: Path) -> None:
    raw, out = copy_bags(tmp_path / "raw", [BAG]), tmp_path / "out"

    run = orchestrator("--input", raw, "--output", out, "--format", "parquet", *SLICE)

    assert run.returncode == 0, run.stderr
    document = manifest(out)
    assert document["options"]["start"] == "+10"
    assert document["options"]["end"] == "+20.5"
    assert topic_messages(document, IMU) == imu_in_slice(10, 20.5)
    again = orchestrator("--input", raw, "--output", out, "--format", "parquet", *SLICE)
    assert "already extracted with these options" in again.stdout, again.stdout
    whole = orchestrator("--input", raw, "--output", out, "--format", "parquet")
    assert whole.returncode == 0, whole.stderr
    assert "--start +10 (this run: absent)" in whole.stdout
    assert topic_messages(manifest(out), IMU) == 3061


@needs("--sync", "--with")
def test_a_synced_run_writes_the_synchronized_table(tmp_path: Path) -> None:
    raw, out = copy_bags(tmp_path / "raw", [BAG]), tmp_path / "out"

    run = orchestrator("--input", raw, "--output", out, "--format", "parquet", *SYNC)

    assert run.returncode == 0, run.stderr
    document = manifest(out)
    assert document["options"]["sync"]["reference"] == IMU
    assert document["options"]["sync"]["with"] == [ODOM]
    table = pq.read_table(out / "jackal-imu-odom" / "sync" / "imu.data.parquet")
    assert table.num_rows == 3061  # one row per reference message
    assert any(name.startswith(f"{ODOM}.") for name in table.column_names)


@needs("--start", "--end", "--sync", "--with")
def test_a_slice_and_sync_run_lands_in_the_lake_with_its_options(tmp_path: Path) -> None:
    raw, out, lake = copy_bags(tmp_path / "raw", [BAG]), tmp_path / "out", tmp_path / "lake"

    run = orchestrator(
        "--input", raw, "--output", out, "--format", "parquet", *SLICE, *SYNC, "--lake", lake
    )

    assert run.returncode == 0, run.stderr
    table = pq.read_table(out / "jackal-imu-odom" / "sync" / "imu.data.parquet")
    assert table.num_rows == imu_in_slice(10, 20.5)
    [row] = DeltaTable(str(lake / "catalog" / "bags")).to_pyarrow_table().to_pylist()
    assert (row["slice_start"], row["slice_end"]) == ("+10", "+20.5")
    assert (row["sync_reference"], row["sync_with"]) == (IMU, [ODOM])
    assert (row["sync_tolerance_ns"], row["sync_method"], row["sync_clock"]) == (
        100_000_000,
        "nearest",
        "log",
    )
    # The synchronized table lands in its fleet table (docs/lakehouse.md "Derived tables").
    fleet = DeltaTable(str(lake / "tables" / sync_table_name(IMU, [ODOM]))).to_pyarrow_table()
    assert fleet.num_rows == table.num_rows
    assert set(fleet.column("bag_id").to_pylist()) == {row["bag_id"]}
    assert set(table.column_names) <= set(fleet.column_names)
