"""The catalog's bags rows record the processor options each bag was extracted with (issue 13),
in nullable columns that a lake made before them gains on its next commit."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from orchestrator import passthrough
from orchestrator.cli import _parser
from orchestrator.freshness import wanted_options
from orchestrator.lakehouse import commit_run
from orchestrator.lakehouse.catalog import BAGS_SCHEMA, OPTION_COLUMNS
from orchestrator.lakehouse.delta import Target
from scripts.bench_lake_commit import result_for, write_bag_output

OPTIONS = [name for name, _ in OPTION_COLUMNS]


def _catalog(lake: Path) -> dict[str, dict[str, Any]]:
    rows = DeltaTable(str(lake / "catalog" / "bags")).to_pyarrow_table().to_pylist()
    return {r["bag_id"]: r for r in rows}


def _record(root: Path, folder: PurePosixPath, *argv: str) -> None:
    """Give the output's manifest the options record the processor writes for `argv`."""
    given = passthrough.settle(_parser().parse_args(["extract", *argv]))
    path = root / folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["options"] = wanted_options("parquet", [], "dotted", given)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def test_each_bag_row_records_its_options(tmp_path: Path) -> None:
    lake = Target(str(tmp_path / "lake"))
    synced = write_bag_output(tmp_path / "out", "synced", 3)
    _record(
        tmp_path,
        synced, "--start", "+5", "--sync", "camera", "--with", "/imu", "--sync-tolerance",
        "0.02", "--point-clouds", "pcd", "--video",
    )  # fmt: skip
    plain = write_bag_output(tmp_path / "out", "plain", 3)
    _record(tmp_path, plain)
    before = write_bag_output(tmp_path / "out", "before", 3)  # no options record at all

    commit_run(
        [result_for(name, folder) for name, folder in (("synced", synced), ("plain", plain),
         ("before", before))],
        tmp_path,
        lake,
        "run-1",
    )  # fmt: skip

    catalog = _catalog(tmp_path / "lake")
    assert {k: catalog["raw/synced.bag"][k] for k in OPTIONS} == {
        "slice_start": "+5",
        "slice_end": None,
        "sync_reference": "/camera",
        "sync_with": ["/imu"],
        "sync_tolerance_ns": 20_000_000,
        "sync_method": "nearest",
        "sync_clock": "log",
        "point_clouds": "pcd",
        "video": True,
    }
    assert {k: catalog["raw/plain.bag"][k] for k in OPTIONS} == {
        **dict.fromkeys(OPTIONS),
        "point_clouds": "parquet",
        "video": False,
    }
    # Made before the options were recorded: unknown, not the defaults of today's processor.
    assert {k: catalog["raw/before.bag"][k] for k in OPTIONS} == dict.fromkeys(OPTIONS)


def test_a_catalog_made_before_the_option_columns_gains_them(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    old_schema = pa.schema([f for f in BAGS_SCHEMA if f.name not in OPTIONS])
    old_row = dict.fromkeys(old_schema.names) | {"bag_id": "raw/old.bag"}
    write_deltalake(str(lake / "catalog" / "bags"), pa.Table.from_pylist([old_row], old_schema))
    bag = write_bag_output(tmp_path / "out", "new", 2)
    _record(tmp_path, bag, "--video")

    commit_run([result_for("new", bag)], tmp_path, Target(str(lake)), "run-2")

    catalog = _catalog(lake)
    assert catalog["raw/new.bag"]["video"] is True
    assert catalog["raw/old.bag"]["video"] is None  # kept, with the new columns null
    schema = pa.schema(DeltaTable(str(lake / "catalog" / "bags")).schema().to_arrow())
    assert all(schema.field(name).nullable for name in OPTIONS)
