"""Two orchestrators committing the same lake at once, as two processes: both runs' rows end up
there, once each; a commit that a concurrent one beat is made again (delta.py, _with_retries)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError

from orchestrator.lakehouse import commit_run, delta
from orchestrator.lakehouse.delta import Target
from scripts.bench_lake_commit import result_for, write_bag_output

REPO = Path(__file__).resolve().parents[2]
ROWS = 20_000  # each commit takes long enough for the two to overlap


def _run_both(root: Path, prefixes: tuple[str, str]) -> list[dict]:
    start = time.time() + 5  # both past their imports and writes before either commits
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.lakehouse.commit_worker",
                str(root),
                who,
                str(start),
                prefix,
                str(ROWS),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who, prefix in zip(("a", "b"), prefixes, strict=True)
    ]
    outputs = []
    for worker in workers:
        out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
        outputs.append(json.loads(out.strip().splitlines()[-1]))
    return outputs


def _bag_rows(root: Path, table: str) -> Counter[str]:
    data = DeltaTable(str(root / "lake" / table)).to_pyarrow_table(columns=["bag_id"])
    return Counter(data.column("bag_id").to_pylist())


@pytest.mark.slow
def test_two_runs_of_the_same_bags_at_once_leave_them_once(tmp_path: Path) -> None:
    """Into a lake with no tables yet: both create them and write the same bags."""
    _run_both(tmp_path, ("same", "same"))
    for table in ("tables/sensor_msgs__imu", "tables/sensor_msgs__navsatfix"):
        assert _bag_rows(tmp_path, table) == {f"raw/same-{i}.bag": ROWS for i in range(4)}
        writes = [
            h
            for h in DeltaTable(str(tmp_path / "lake" / table)).history()
            if h["operation"] == "WRITE"
        ]
        assert len(writes) == 2  # each run's commit landed
    assert _bag_rows(tmp_path, "catalog/bags") == {f"raw/same-{i}.bag": 1 for i in range(4)}


@pytest.mark.slow
def test_two_runs_of_other_bags_at_once_both_land(tmp_path: Path) -> None:
    seed = write_bag_output(tmp_path / "out", "seed", 5)
    commit_run([result_for("seed", seed)], tmp_path, Target(str(tmp_path / "lake")), "seed")
    _run_both(tmp_path, ("left", "right"))
    expected = {f"raw/{p}-{i}.bag": ROWS for p in ("left", "right") for i in range(4)}
    assert _bag_rows(tmp_path, "tables/sensor_msgs__imu") == expected | {"raw/seed.bag": 5}
    assert len(_bag_rows(tmp_path, "catalog/bags")) == 9


def test_a_commit_beaten_by_a_concurrent_one_is_made_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(delta, "FIRST_RETRY_SECONDS", 0.0)
    calls: list[int] = []

    def beaten_twice() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise CommitFailedError("a concurrent transactions added new data")

    delta._with_retries("tables/x", beaten_twice)
    assert len(calls) == 3


def test_a_table_that_keeps_conflicting_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delta, "FIRST_RETRY_SECONDS", 0.0)

    def always() -> None:
        raise CommitFailedError("a concurrent transactions added new data")

    with pytest.raises(CommitFailedError, match=r"table tables/x: .* \(gave up after 6 attempts"):
        delta._with_retries("tables/x", always)
