"""A bag held back (here: busy, another run holds its claim) leaves its lake rows and catalog row
as they were: only the run that extracts it replaces them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from deltalake import DeltaTable

from orchestrator.claims import Claims
from orchestrator.cli import main as orchestrator

BAGS = Path(__file__).parents[1] / "data" / "bags"
pytestmark = pytest.mark.slow


def _bag_rows(lake: Path, bag_id: str) -> int:
    return sum(
        DeltaTable(str(t)).to_pyarrow_table(columns=["bag_id"]).column(0).to_pylist().count(bag_id)
        for t in (lake / "tables").iterdir()
    )


def test_a_busy_bag_keeps_its_rows_in_the_lake(tmp_path: Path) -> None:
    raw, out, lake = tmp_path / "raw", tmp_path / "out", tmp_path / "lake"
    raw.mkdir()
    shutil.copy(BAGS / "gps-navsatfix.bag", raw / "gps.bag")
    argv = ["extract", "--input", str(raw), "--output", str(out), "--lake", str(lake)]
    assert orchestrator(argv) == 0
    rows = _bag_rows(lake, "raw/gps.bag")
    assert rows > 0

    os.utime(raw / "gps.bag")  # changed: to be extracted again, but another run holds it
    other = Claims(out / "_claims", "manual-other-run", 3600.0)
    assert other.take("raw/gps.bag") == ""
    claim = json.loads(other.path("raw/gps.bag").read_text())
    claim["pid"] = os.getppid()  # a live process on this host
    other.path("raw/gps.bag").write_text(json.dumps(claim))

    assert orchestrator(argv) == 0

    assert _bag_rows(lake, "raw/gps.bag") == rows
    catalog = DeltaTable(str(lake / "catalog" / "bags")).to_pyarrow_table().to_pylist()
    assert [b["status"] for b in catalog if b["bag_id"] == "raw/gps.bag"] == ["succeeded"]
