"""The catalog's bags rows say what the ledger says (docs/lakehouse.md "The catalog and the
ledger"): the source id each bag's row is about, a changed bag's new id, a quarantine and why;
on real bags through the orchestrator CLI and the processor."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from orchestrator.cli import main as orchestrator
from orchestrator.intake import SETTLE_SECONDS

BAGS = Path(__file__).parents[1] / "data" / "bags"
pytestmark = pytest.mark.slow


def settled(path: Path) -> None:
    """An unreadable bag is quarantined only once it has been still for SETTLE_SECONDS."""
    old = time.time() - SETTLE_SECONDS - 60
    os.utime(path, (old, old))


def _catalog(lake: Path) -> dict[str, dict[str, Any]]:
    rows = DeltaTable(str(lake / "catalog" / "bags")).to_pyarrow_table().to_pylist()
    return {row["bag_id"]: row for row in rows}


def _ledger(out: Path, key: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((out / "_ledger" / f"{key}.json").read_text())
    return loaded


def test_the_catalog_carries_the_ledgers_source_ids_and_quarantines(tmp_path: Path) -> None:
    raw, out, lake = tmp_path / "raw", tmp_path / "out", tmp_path / "lake"
    raw.mkdir()
    shutil.copy(BAGS / "gps-navsatfix.bag", raw / "gps.bag")
    shutil.copy(BAGS / "magnetic-temperature.bag", raw / "mag.bag")
    (raw / "cut-short.bag").write_bytes((BAGS / "turtlesim.bag").read_bytes()[:100])
    settled(raw / "cut-short.bag")  # written long enough ago to be quarantined, not waited for
    argv = ["extract", "--input", str(raw), "--output", str(out), "--lake", str(lake)]

    assert orchestrator(argv) == 1  # the corrupt bag fails this once

    first = _catalog(lake)
    for key in ("gps", "mag", "cut-short"):
        assert first[f"raw/{key}.bag"]["source_id"] == _ledger(out, key)["source_id"]
        assert first[f"raw/{key}.bag"]["source_id"].startswith("stat-v1:")
    assert first["raw/gps.bag"]["status"] == "succeeded"
    quarantined = first["raw/cut-short.bag"]
    assert quarantined["status"] == "quarantined"
    assert quarantined["reason"] == _ledger(out, "cut-short")["reason"]
    assert "not a readable bag" in quarantined["reason"]

    shutil.copy(BAGS / "turtlesim.bag", raw / "gps.bag")  # the same name, other content
    assert orchestrator(argv) == 0  # the quarantined bag is held, not failed again

    second = _catalog(lake)
    changed = second["raw/gps.bag"]
    assert (
        changed["source_id"]
        == _ledger(out, "gps")["source_id"]
        != first["raw/gps.bag"]["source_id"]
    )
    assert changed["content_id"] != first["raw/gps.bag"]["content_id"]
    assert changed["run_id"] != first["raw/gps.bag"]["run_id"]
    assert second["raw/mag.bag"] == first["raw/mag.bag"]  # unchanged: its row as it was
    assert second["raw/cut-short.bag"] == quarantined


def test_a_catalog_row_from_other_content_is_committed_again(tmp_path: Path) -> None:
    """A bag extracted again while the lake was not given (or its commit failed): the next run
    with the lake finds the bag unchanged but the catalog's row from other content."""
    raw, out, lake = tmp_path / "raw", tmp_path / "out", tmp_path / "lake"
    raw.mkdir()
    shutil.copy(BAGS / "gps-navsatfix.bag", raw / "gps.bag")
    argv = ["extract", "--input", str(raw), "--output", str(out)]
    assert orchestrator([*argv, "--lake", str(lake)]) == 0
    before = _catalog(lake)["raw/gps.bag"]

    shutil.copy(BAGS / "magnetic-temperature.bag", raw / "gps.bag")
    assert orchestrator(argv) == 0  # extracted again, no lake
    assert _catalog(lake)["raw/gps.bag"] == before
    assert orchestrator([*argv, "--lake", str(lake)]) == 0  # unchanged, but the row is stale

    after = _catalog(lake)["raw/gps.bag"]
    assert after["source_id"] == _ledger(out, "gps")["source_id"] != before["source_id"]
    assert after["messages"] == 20  # magnetic-temperature's
