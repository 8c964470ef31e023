"""All tables of a run share one memory budget, however many topics the bag has."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor import budget as budget_module
from processor.budget import Budget
from scripts.synthetic_bags import write_split_imu
from tests.processor.helpers import manifest, read_csv, run_cli


class _Watched(Budget):
    """A budget that remembers the most it ever counted."""

    peak = 0

    def relieve(self) -> None:
        _Watched.peak = max(_Watched.peak, self.held)
        super().relieve()


@pytest.mark.parametrize("topics", [8, 64])
def test_tables_hold_one_budget_together(
    topics: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limit = 256 << 10
    monkeypatch.setattr("processor.extract.Budget", lambda: _Watched(limit))
    _Watched.peak = 0
    drive = write_split_imu(tmp_path / "imu.bag", megabytes=4, topics=topics)
    assert run_cli(capsys, "extract", drive.path, tmp_path / "out")[0] == 0
    message = 315 + budget_module.MESSAGE_OVERHEAD
    # 4 MB of messages went through; at no time did the tables hold more than the budget
    # (and the message that passed it).
    assert limit < _Watched.peak <= limit + message
    document = manifest(tmp_path / "out" / "imu")
    assert {t["topic"]: t["messages"] for t in document["topics"]} == drive.counts
    rows = read_csv(tmp_path / "out" / "imu" / "imu.0.csv")
    assert [int(r["log_time_ns"]) for r in rows] == sorted(int(r["log_time_ns"]) for r in rows)
