"""Exactly once on real bags: repeated events, changed bags, corrupt bags, incomplete ROS 2
folders and concurrent runs, through the real orchestrator CLI and processor."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestrator.intake import SETTLE_SECONDS
from tests.e2e.test_local_pipeline import manifest_messages, orchestrator, snapshot
from tests.orchestrator.helpers import BAGS, REPO, copy_bags

pytestmark = pytest.mark.slow


def tasks_run(stdout: str) -> int:
    """The plan line's task count: `job <id>: 1 bag, 1 task`."""
    found = re.search(r"^job \S+: \d+ bags?, (\d+) tasks?", stdout, re.MULTILINE)
    assert found, stdout
    return int(found.group(1))


def record(out: Path, key: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((out / "_ledger" / f"{key}.json").read_text())
    return loaded


def test_the_same_event_three_times_extracts_the_bag_once(tmp_path: Path) -> None:
    raw = copy_bags(tmp_path / "raw", ["gps-navsatfix.bag"])
    (raw / "2026").mkdir()
    shutil.move(raw / "gps-navsatfix.bag", raw / "2026" / "gps-navsatfix.bag")
    out = tmp_path / "extracted"
    event = raw / "2026" / "gps-navsatfix.bag"

    runs = [orchestrator("--input", raw, "--output", out, "--bag", event) for _ in range(3)]

    assert [run.returncode for run in runs] == [0, 0, 0], runs[0].stderr
    assert [tasks_run(run.stdout) for run in runs] == [1, 0, 0]
    # The event's output lands where a sweep of raw/ puts it, so a sweep finds it done too.
    assert manifest_messages(out / "2026" / "gps-navsatfix") == 151
    assert record(out, "2026/gps-navsatfix")["status"] == "extracted"
    before = snapshot(out)
    sweep = orchestrator("--input", raw, "--output", out)
    assert tasks_run(sweep.stdout) == 0
    assert "unchanged" in sweep.stdout
    assert snapshot(out) == before


def test_a_modified_bag_is_extracted_again_and_replaces_its_output(tmp_path: Path) -> None:
    raw = copy_bags(tmp_path / "raw", ["gps-navsatfix.bag"])
    out = tmp_path / "extracted"
    assert orchestrator("--input", raw, "--output", out).returncode == 0
    first_id = record(out, "gps-navsatfix")["source_id"]

    # The same name, other content (a re-upload): shutil.copy gives it a new mtime.
    shutil.copy(BAGS / "magnetic-temperature.bag", raw / "gps-navsatfix.bag")
    again = orchestrator("--input", raw, "--output", out)

    assert again.returncode == 0, again.stderr
    assert tasks_run(again.stdout) == 1
    assert "extracting raw/gps-navsatfix.bag again: the bag changed since it was extracted" in (
        again.stdout
    )
    assert manifest_messages(out / "gps-navsatfix") == 20  # magnetic-temperature's
    assert record(out, "gps-navsatfix")["source_id"] != first_id


def settled(path: Path) -> None:
    """Written longer ago than the settle window: not a bag still being written."""
    old = time.time() - SETTLE_SECONDS - 60
    os.utime(path, (old, old))


def test_an_unreadable_bag_written_moments_ago_waits_and_is_not_moved(tmp_path: Path) -> None:
    # A CopyBlob on HNS raises BlobCreated when the copy starts; NFS writes raise no event at
    # all (docs/azure-behaviour.md "Storage events"): the bag may still be arriving.
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "arriving.bag").write_bytes((BAGS / "turtlesim.bag").read_bytes()[:100])
    out = tmp_path / "extracted"

    first = orchestrator("--input", raw, "--output", out, "--quarantine-to", raw / "quarantine")

    assert "waiting raw/arriving.bag" in first.stdout
    assert "quarantined raw/arriving.bag" not in first.stdout
    assert (raw / "arriving.bag").is_file()
    assert not (raw / "quarantine").exists()
    assert not (out / "_ledger" / "arriving.json").exists()

    settled(raw / "arriving.bag")  # still unreadable long after: quarantined and moved
    second = orchestrator("--input", raw, "--output", out, "--quarantine-to", raw / "quarantine")
    assert tasks_run(second.stdout) == 1
    assert "quarantined raw/arriving.bag, moved to" in second.stdout
    assert (raw / "quarantine" / "arriving.bag").is_file()


def test_a_corrupt_bag_is_quarantined_once_and_moved_when_asked(tmp_path: Path) -> None:
    raw = copy_bags(tmp_path / "raw", ["gps-navsatfix.bag"])
    (raw / "cut-short.bag").write_bytes((BAGS / "turtlesim.bag").read_bytes()[:100])
    settled(raw / "cut-short.bag")
    out = tmp_path / "extracted"

    first = orchestrator("--input", raw, "--output", out)
    second = orchestrator("--input", raw, "--output", out)

    assert first.returncode == 1  # the failure is reported once, when it happens
    assert "quarantined raw/cut-short.bag: not retried until it changes" in first.stdout
    quarantined = record(out, "cut-short")
    assert quarantined["status"] == "quarantined"
    assert "not a readable bag" in quarantined["reason"]
    assert not (out / "cut-short").exists()  # no output folder: only the ledger's record
    assert second.returncode == 0, second.stderr
    assert tasks_run(second.stdout) == 0
    assert re.search(r"raw/cut-short\.bag\s+quarantined", second.stdout)
    assert "not a readable bag" in second.stdout

    # Changed, it is tried again; with --quarantine-to it leaves raw/ for raw/quarantine/.
    (raw / "cut-short.bag").write_bytes((BAGS / "turtlesim.bag").read_bytes()[:200])
    settled(raw / "cut-short.bag")
    third = orchestrator("--input", raw, "--output", out, "--quarantine-to", raw / "quarantine")
    assert tasks_run(third.stdout) == 1
    assert (raw / "quarantine" / "cut-short.bag").is_file()
    assert not (raw / "cut-short.bag").exists()
    assert record(out, "cut-short")["moved_to"] == "raw/quarantine/cut-short.bag"
    fourth = orchestrator("--input", raw, "--output", out, "--quarantine-to", raw / "quarantine")
    assert fourth.returncode == 0
    assert "1 bag," in fourth.stdout  # the quarantine folder is not searched


def test_an_incomplete_ros2_folder_waits_until_its_files_arrive(tmp_path: Path) -> None:
    raw = copy_bags(tmp_path / "raw", ["ros2-mcap-basic"])
    storage = raw / "ros2-mcap-basic" / "base_msgs_0.mcap"
    held = tmp_path / "held.mcap"
    shutil.move(storage, held)
    out = tmp_path / "extracted"
    event = raw / "ros2-mcap-basic" / "metadata.yaml"

    waiting = orchestrator("--input", raw, "--output", out, "--bag", event)

    assert waiting.returncode == 0, waiting.stderr  # waiting is not failing
    assert tasks_run(waiting.stdout) == 0
    assert re.search(r"raw/ros2-mcap-basic\s+waiting", waiting.stdout)
    assert "waiting for base_msgs_0.mcap listed in its metadata.yaml" in waiting.stdout
    assert not (out / "ros2-mcap-basic").exists()

    shutil.move(held, storage)
    arrived = orchestrator("--input", raw, "--output", out, "--bag", storage)

    assert arrived.returncode == 0, arrived.stderr
    assert tasks_run(arrived.stdout) == 1
    assert manifest_messages(out / "ros2-mcap-basic") == 3


def test_two_runs_at_once_on_one_bag_extract_it_once(tmp_path: Path) -> None:
    raw = copy_bags(tmp_path / "raw", ["jackal-imu-odom.bag"])
    out = tmp_path / "extracted"
    command = [
        sys.executable,
        "-m",
        "orchestrator",
        "extract",
        "--input",
        str(raw),
        "--output",
        str(out),
    ]
    runs = [
        subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    finished = [run.communicate(timeout=300) for run in runs]

    assert [run.returncode for run in runs] == [0, 0], finished
    # One run extracts; the other finds the bag busy (its claim) or, if it planned after the
    # first had finished, unchanged.
    assert sorted(tasks_run(stdout) for stdout, _ in finished) == [0, 1]
    assert manifest_messages(out / "jackal-imu-odom") == 6121
    assert not list((out / "_claims").iterdir())  # released
