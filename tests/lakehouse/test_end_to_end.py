"""Done when (issue 12): real bags through the orchestrator into the lake, twice, with a failure."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from deltalake import DeltaTable

from ops.query import query
from orchestrator.cli import main as orchestrator
from orchestrator.intake import SETTLE_SECONDS
from tests.lakehouse.browser import render
from tests.lakehouse.delta_log import commits, read_table
from tests.orchestrator.helpers import write_activity

BAGS = Path(__file__).parents[1] / "data" / "bags"
pytestmark = pytest.mark.slow


def settled(path: Path) -> None:
    """An unreadable bag is quarantined only once it has been still for SETTLE_SECONDS."""
    old = time.time() - SETTLE_SECONDS - 60
    os.utime(path, (old, old))


@pytest.fixture(scope="module")
def lake_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("lake")
    raw = root / "raw"
    raw.mkdir()
    for name in ("gps-navsatfix.bag", "camera-drive.bag", "ros2-mcap-basic"):
        source = BAGS / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, raw / name)
    # Two bags of one type (sensor_msgs/msg/Imu): they must share one table.
    shutil.copy(BAGS / "jackal-imu-odom.bag", raw / "drive-a.bag")
    shutil.copy(BAGS / "jackal-imu-odom.bag", raw / "drive-b.bag")
    (raw / "broken.bag").write_bytes(b"#ROSBAG V2.0\n" + b"\x00garbage" * 64)
    settled(raw / "broken.bag")  # written long enough ago to be quarantined, not waited for
    lake = root / "lake"
    argv = ["extract", "--executor", "local", "--input", str(raw), "--output", str(root / "out")]
    argv += ["--format", "parquet", "--lake", str(lake), "--workers", "2"]
    first = orchestrator(argv)
    counts_first = _row_counts(lake)
    second = orchestrator([*argv, "--force"])
    return {"root": root, "lake": lake, "codes": (first, second), "first": counts_first}


def _row_counts(lake: Path) -> dict[str, int]:
    return {t.name: len(DeltaTable(str(t)).to_pyarrow_table()) for t in (lake / "tables").iterdir()}


def _manifests(root: Path) -> dict[str, dict]:
    found = {}
    for manifest in (root / "out").glob("*/manifest.json"):
        found[manifest.parent.name] = json.loads(manifest.read_text())
    return found


def test_a_failing_bag_fails_the_run_but_the_others_land(lake_run: dict) -> None:
    assert lake_run["codes"] == (1, 1)  # broken.bag failed both times
    assert (lake_run["lake"] / "tables" / "sensor_msgs__imu" / "_delta_log").is_dir()


def test_running_twice_gives_identical_row_counts(lake_run: dict) -> None:
    assert _row_counts(lake_run["lake"]) == lake_run["first"]


def test_one_commit_per_table_per_run(lake_run: dict) -> None:
    for table in (lake_run["lake"] / "tables").iterdir():
        assert commits(table) == 2, table.name  # two runs, one commit each
    for name in ("bags", "topics"):
        assert commits(lake_run["lake"] / "catalog" / name) == 2


def test_two_bags_of_one_type_share_one_table(lake_run: dict) -> None:
    imu = DeltaTable(str(lake_run["lake"] / "tables" / "sensor_msgs__imu")).to_pyarrow_table()
    assert set(imu.column("bag_id").to_pylist()) == {"raw/drive-a.bag", "raw/drive-b.bag"}


def test_the_failing_bag_has_no_rows_and_its_catalog_row_says_why(lake_run: dict) -> None:
    lake = lake_run["lake"]
    for table in (lake / "tables").iterdir():
        ids = DeltaTable(str(table)).to_pyarrow_table(columns=["bag_id"]).column(0)
        assert "raw/broken.bag" not in ids.to_pylist()
    bags = DeltaTable(str(lake / "catalog" / "bags")).to_pyarrow_table().to_pylist()
    broken = [b for b in bags if b["bag_id"] == "raw/broken.bag"]
    assert len(broken) == 1
    # Unreadable (exit 2): the ledger quarantines it, and the catalog says so (docs/lakehouse.md
    # "The catalog and the ledger").
    assert broken[0]["status"] == "quarantined"
    assert broken[0]["reason"]  # the processor's one line


def test_catalog_counts_equal_the_manifests(lake_run: dict) -> None:
    lake, manifests = lake_run["lake"], _manifests(lake_run["root"])
    bags = {
        b["path"]: b
        for b in DeltaTable(str(lake / "catalog" / "bags")).to_pyarrow_table().to_pylist()
    }
    assert len(bags) == 6  # one row per bag, after two runs
    for name, manifest in manifests.items():
        row = next(b for p, b in bags.items() if Path(p).stem == name or Path(p).name == name)
        assert row["messages"] == manifest["messages"]
        assert {t["topic"]: t["messages"] for t in row["topics"]} == {
            t["topic"]: t["messages"] for t in manifest["topics"]
        }
        assert row["processor_version"] == manifest["processor_version"]
        assert row["status"] == "succeeded"


def test_tables_read_back_by_deltalake_pyarrow_and_ops_query(lake_run: dict) -> None:
    lake, manifests = lake_run["lake"], _manifests(lake_run["root"])
    expected: Counter[tuple[str, str]] = Counter()
    for name, manifest in manifests.items():
        for topic in manifest["topics"]:
            expected[(name, topic["topic"])] += topic["messages"]
    by_deltalake: Counter[tuple[str, str]] = Counter()
    by_pyarrow: Counter[tuple[str, str]] = Counter()
    for table in (lake / "tables").iterdir():
        for counter, data in (
            (by_deltalake, DeltaTable(str(table)).to_pyarrow_table()),
            (by_pyarrow, read_table(table)),
        ):
            for row in (
                data.group_by(["bag_id", "topic"]).aggregate([([], "count_all")]).to_pylist()
            ):
                counter[(Path(row["bag_id"]).stem, row["topic"])] += row["count_all"]
    assert by_deltalake == by_pyarrow == +expected
    _, rows = query(
        str(lake), "SELECT bag_id, topic, count(*) FROM sensor_msgs__imu GROUP BY ALL ORDER BY 1"
    )
    assert rows == [
        ("raw/drive-a.bag", "/imu/data", expected[("drive-a", "/imu/data")]),
        ("raw/drive-b.bag", "/imu/data", expected[("drive-b", "/imu/data")]),
    ]


def test_partitions_by_date_and_topic(lake_run: dict) -> None:
    imu = lake_run["lake"] / "tables" / "sensor_msgs__imu"
    data = read_table(imu)
    days = {
        (row["date"], datetime.datetime.fromtimestamp(row["log_time_ns"] / 1e9, datetime.UTC))
        for row in data.select(["date", "log_time_ns"]).to_pylist()
    }
    assert {date == str(moment.date()) for date, moment in days} == {True}
    assert any(p.name.startswith("date=") for p in imu.iterdir())


def test_reports_are_written(lake_run: dict) -> None:
    reports = lake_run["lake"] / "reports"
    index = (reports / "index.html").read_text()
    assert "raw/broken.bag" in index and "failed" in index
    camera = next((reports / "bags").glob("raw_camera-drive_bag-*.html")).read_text()
    assert "data:image/" in camera  # the first frame, inline
    gps = next((reports / "bags").glob("raw_gps-navsatfix_bag-*.html")).read_text()
    assert "<polyline" in gps


def test_the_console_check_sees_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><script>console.error('boom'); missing();</script>")
    console = render(page, tmp_path / "bad.png")
    assert any("boom" in line for line in console)
    assert any("missing is not defined" in line for line in console)


def test_reports_render_in_chromium_without_console_errors(lake_run: dict, tmp_path: Path) -> None:
    reports = lake_run["lake"] / "reports"
    pages = [reports / "index.html", *sorted((reports / "bags").glob("*.html"))]
    for page in pages:
        text = page.read_text()
        assert "http://" not in text and "https://" not in text  # nothing fetched
        shot = tmp_path / f"{page.stem}.png"
        assert render(page, shot) == [], page.name
        assert shot.read_bytes().startswith(b"\x89PNG")


def test_outputs_json_carries_the_lake_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(BAGS / "gps-navsatfix.bag", raw / "gps.bag")
    monkeypatch.chdir(tmp_path)
    write_activity(tmp_path, inputPath="raw/", outputPath="out/")
    lake = tmp_path / "lake"
    argv = ["extract", "--executor", "local", "--activity", "activity.json", "--input", "raw"]
    assert orchestrator([*argv, "--output", "out", "--lake", str(lake)]) == 0
    document = json.loads((tmp_path / "outputs.json").read_text())
    # Version 0 created the table empty (concurrent first commits, docs/lakehouse.md); 1: rows.
    assert document["lake"]["tables"] == {"sensor_msgs__navsatfix": 1}
    assert document["lake"]["bags"] == 1 and document["lake"]["conflicts"] == {}
    assert document["lake"]["report"] == str(lake / "reports" / "index.html")
