"""The whole pipeline on a laptop: the real orchestrator CLI and processor over real bags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.orchestrator.helpers import BAGS, GOOD_BAGS, REPO, copy_bags

pytestmark = pytest.mark.slow

# Message counts from tests/data/bags/PROVENANCE.md (read with rosbags' AnyReader).
EXPECTED_MESSAGES = {
    "jackal-imu-odom": 6121,
    "gps-navsatfix": 151,
    "turtlesim": 8647,
    "custom-arrays": 20,
    "magnetic-temperature": 20,
    "ros2-mcap-basic": 3,
    "ros2-sqlite3-custom": 7,
}


def orchestrator(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "extract", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        check=False,
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file below `folder` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def manifest_messages(result_dir: Path) -> int:
    manifest = json.loads((result_dir / "manifest.json").read_text(encoding="utf-8"))
    return sum(topic["messages"] for topic in manifest["topics"])


def test_real_bags_extracted_twice_second_run_changes_nothing(tmp_path: Path) -> None:
    raw = copy_bags(tmp_path / "raw", GOOD_BAGS)
    out = tmp_path / "extracted"

    first = orchestrator("--input", raw, "--output", out)

    assert first.returncode == 0, first.stderr
    assert "7/7 tasks done" in first.stdout
    for name, messages in EXPECTED_MESSAGES.items():
        assert (out / name / "_SUCCESS").is_file()
        assert manifest_messages(out / name) == messages
    # The summary's last line: bags, topics, messages, files, seconds.
    total = first.stdout.splitlines()[-1].split()
    assert total[:2] == ["7", "bags"]
    assert int(total[3]) == sum(EXPECTED_MESSAGES.values())
    before = snapshot(out)

    second = orchestrator("--input", raw, "--output", out)

    assert second.returncode == 0, second.stderr
    assert "7 already extracted" in second.stdout
    assert snapshot(out) == before
    assert second.stdout.count("unchanged") == 7


def test_a_broken_bag_fails_the_run_and_spares_the_others(tmp_path: Path) -> None:
    raw = copy_bags(tmp_path / "raw", ["gps-navsatfix.bag"])
    (raw / "cut-short.bag").write_bytes((BAGS / "turtlesim.bag").read_bytes()[:100])
    out = tmp_path / "extracted"

    run = orchestrator("--input", raw, "--output", out)

    assert run.returncode == 1
    assert "FAILED raw/cut-short.bag" in run.stderr
    assert "exit code 2" in run.stderr
    assert "not a readable bag" in run.stderr
    assert (out / "gps-navsatfix" / "_SUCCESS").is_file()
    assert not (out / "cut-short").exists()


def test_large_bag_sharded_and_merged_gives_the_same_output(tmp_path: Path) -> None:
    raw = copy_bags(tmp_path / "raw", ["jackal-imu-odom.bag"])
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"

    assert orchestrator("--input", raw, "--output", whole).returncode == 0
    # 200 KB shards: the 521 KB bag becomes 3 shard tasks and a merge.
    run = orchestrator("--input", raw, "--output", sharded, "--shard-size-gb", "0.0002")

    assert run.returncode == 0, run.stderr
    assert "4 tasks, 1 sharded" in run.stdout
    result = sharded / "jackal-imu-odom"
    assert manifest_messages(result) == EXPECTED_MESSAGES["jackal-imu-odom"]
    for table in sorted((whole / "jackal-imu-odom").glob("*.csv")):
        assert (result / table.name).read_text() == table.read_text(), table.name
