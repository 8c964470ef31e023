"""Schema evolution and type conflicts across runs, on synthetic processor outputs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from orchestrator.lakehouse import commit_run
from orchestrator.lakehouse.delta import Target, commit_count
from orchestrator.lakehouse.names import table_name
from orchestrator.lakehouse.rows import delta_type
from orchestrator.outcome import BagStatus
from scripts.bench_lake_commit import bench, result_for, write_bag_output


def _rows(lake: Path, table: str = "sensor_msgs__imu") -> list[dict]:
    return DeltaTable(str(lake / "tables" / table)).to_pyarrow_table().to_pylist()


def _catalog(lake: Path) -> dict[str, dict]:
    rows = DeltaTable(str(lake / "catalog" / "bags")).to_pyarrow_table().to_pylist()
    return {r["bag_id"]: r for r in rows}


def test_a_new_field_becomes_a_nullable_column(tmp_path: Path) -> None:
    lake = Target(str(tmp_path / "lake"))
    old = write_bag_output(tmp_path / "out", "old", 5)
    commit_run([result_for("old", old)], tmp_path, lake, "run-1")
    new = write_bag_output(tmp_path / "out", "new", 3, extra={"speed": pa.array([1.0] * 3)})
    commit_run([result_for("new", new)], tmp_path, lake, "run-2")
    rows = _rows(tmp_path / "lake")
    assert sorted((r["bag_id"], r["speed"]) for r in rows)[::3] == [
        ("raw/new.bag", 1.0),
        ("raw/old.bag", None),
        ("raw/old.bag", None),
    ]
    schema = pa.schema(
        DeltaTable(str(tmp_path / "lake/tables/sensor_msgs__imu")).schema().to_arrow()
    )
    assert schema.field("speed").nullable


def test_a_type_conflict_commits_nothing_for_the_bag_and_reports_it(tmp_path: Path) -> None:
    lake = Target(str(tmp_path / "lake"))
    first = write_bag_output(tmp_path / "out", "first", 4, extra={"mode": pa.array([1] * 4)})
    commit_run([result_for("first", first)], tmp_path, lake, "run-1")
    text = pa.array(["auto"] * 2)
    clash = write_bag_output(tmp_path / "out", "clash", 2, extra={"mode": text})
    fine = write_bag_output(tmp_path / "out", "fine", 2)
    result = commit_run(
        [result_for("clash", clash), result_for("fine", fine)], tmp_path, lake, "run-2"
    )
    assert list(result.conflicts) == ["raw/clash.bag"]
    assert "'mode' is int64 in the lake but string in this bag" in result.conflicts["raw/clash.bag"]
    for table in ("sensor_msgs__imu", "sensor_msgs__navsatfix"):  # neither of its tables
        assert {r["bag_id"] for r in _rows(tmp_path / "lake", table)} == {
            "raw/first.bag",
            "raw/fine.bag",
        }
    catalog = _catalog(tmp_path / "lake")
    assert catalog["raw/clash.bag"]["status"] == "lake-failed"
    assert "type conflict" in catalog["raw/clash.bag"]["reason"]


def test_re_extracting_replaces_a_bags_rows(tmp_path: Path) -> None:
    lake = Target(str(tmp_path / "lake"))
    bag = write_bag_output(tmp_path / "out", "bag", 7)
    commit_run([result_for("bag", bag)], tmp_path, lake, "run-1")
    commit_run([result_for("bag", bag)], tmp_path, lake, "run-2")
    assert len(_rows(tmp_path / "lake")) == 7
    assert _catalog(tmp_path / "lake")["raw/bag.bag"]["run_id"] == "run-2"


def test_many_bags_are_one_commit_per_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = bench(tmp_path, bags=40, rows=5)
    assert counts == {"sensor_msgs__imu": 1, "sensor_msgs__navsatfix": 1}
    assert "40 bags" in capsys.readouterr().out
    assert commit_count(Target(str(tmp_path / "lake")), "catalog/bags") == 1


@pytest.mark.parametrize(
    ("msgtype", "name"),
    [
        ("sensor_msgs/msg/Imu", "sensor_msgs__imu"),
        ("nav_msgs/Odometry", "nav_msgs__odometry"),
    ],
)
def test_table_names_from_ros_types(msgtype: str, name: str) -> None:
    assert table_name(msgtype) == name


@pytest.mark.parametrize(
    "hostile", ["../x/msg/Y", "a__b/msg/C", "pkg/msg/Type; DROP", "", "A/msg/B"]
)
def test_other_type_names_get_a_hashed_name(hostile: str) -> None:
    name = table_name(hostile)
    assert name.startswith("other__") and name.replace("_", "").isalnum()


def test_unsigned_integers_widen_to_hold_every_value() -> None:
    assert delta_type(pa.uint32()) == pa.int64()
    assert delta_type(pa.uint64()) == pa.decimal128(20, 0)
    assert delta_type(pa.list_(pa.struct([("a", pa.uint8())]))) == pa.list_(
        pa.struct([("a", pa.int16())])
    )


def test_a_topic_table_streams_in_bounded_batches(tmp_path: Path) -> None:
    """The commit reads a Parquet topic a batch at a time (scripts/bench_lake_memory.py shows the
    peak memory it saves); the rows committed are all of them."""
    from orchestrator.lakehouse.outputs import read_output
    from orchestrator.lakehouse.rows import BATCH_ROWS, lake_batches, lake_schema

    rows = BATCH_ROWS + 1000
    folder = write_bag_output(tmp_path / "out", "long", rows)
    output = read_output(PurePosixPath("raw/long.bag"), tmp_path / folder)
    imu = next(t for t in output.tables if t.msgtype == "sensor_msgs/msg/Imu")
    batches = list(lake_batches(output.bag_id, imu))
    assert [b.num_rows for b in batches] == [BATCH_ROWS, 1000]
    assert all(b.schema.equals(lake_schema(output.bag_id, imu)) for b in batches)
    commit_run([result_for("long", folder)], tmp_path, Target(str(tmp_path / "lake")), "run-1")
    assert len(_rows(tmp_path / "lake")) == rows


def test_the_reports_track_is_drawn_from_a_bounded_number_of_fixes() -> None:
    from orchestrator.lakehouse.stats import MAX_TRACK_POINTS, gps_track

    n = 10 * MAX_TRACK_POINTS + 7
    fixes = pa.table({"latitude": [48.0 + i * 1e-6 for i in range(n)], "longitude": [11.0] * n})
    track = gps_track(fixes)
    assert track is not None
    assert len(track.points) <= MAX_TRACK_POINTS + 1
    assert track.points[0] == (48.0, 11.0) and track.points[-1][0] == 48.0 + (n - 1) * 1e-6
    assert abs(track.length_m - (n - 1) * 1e-6 * 111_195) < 1.0  # every fix counts


def _files_with(lake: Path, bag_id: str, table: str = "sensor_msgs__imu") -> set[str]:
    """The data files holding the bag's rows in the table's current version."""
    dataset = DeltaTable(str(lake / "tables" / table)).to_pyarrow_dataset()
    return {
        fragment.path
        for fragment in dataset.get_fragments()
        if fragment.to_table(columns=["bag_id"]).column("bag_id").to_pylist().count(bag_id)
    }


def test_a_bag_left_as_it_was_keeps_its_rows_untouched(tmp_path: Path) -> None:
    lake, root = Target(str(tmp_path / "lake")), tmp_path / "lake"
    kept, redone = (write_bag_output(tmp_path / "out", n, 5) for n in ("kept", "redone"))
    commit_run([result_for("kept", kept)], tmp_path, lake, "run-1")
    commit_run([result_for("redone", redone)], tmp_path, lake, "run-2")
    files, version = (
        _files_with(root, "raw/kept.bag"),
        commit_count(lake, "tables/sensor_msgs__imu"),
    )
    catalog_commits = commit_count(lake, "catalog/bags")
    assert files
    unchanged = replace(result_for("kept", kept), status=BagStatus.UNCHANGED)

    commit_run([unchanged, result_for("redone", redone)], tmp_path, lake, "run-3")

    assert _files_with(root, "raw/kept.bag") == files  # not rewritten
    assert commit_count(lake, "tables/sensor_msgs__imu") == version + 1  # the redone bag's
    assert commit_count(lake, "catalog/bags") == catalog_commits + 1
    assert _catalog(root)["raw/kept.bag"]["run_id"] == "run-1"  # its row as run-1 made it
    assert _catalog(root)["raw/redone.bag"]["run_id"] == "run-3"

    # A run where every bag was left as it was commits nothing at all.
    commit_run([unchanged], tmp_path, lake, "run-4")
    assert commit_count(lake, "tables/sensor_msgs__imu") == version + 1
    assert commit_count(lake, "catalog/bags") == catalog_commits + 1


def test_a_bag_not_started_keeps_its_rows(tmp_path: Path) -> None:
    lake = Target(str(tmp_path / "lake"))
    bag = write_bag_output(tmp_path / "out", "bag", 5)
    commit_run([result_for("bag", bag)], tmp_path, lake, "run-1")
    stopped = replace(result_for("bag", bag), status=BagStatus.NOT_RUN)
    commit_run([stopped], tmp_path, lake, "run-2")
    assert len(_rows(tmp_path / "lake")) == 5
    assert _catalog(tmp_path / "lake")["raw/bag.bag"]["status"] == "succeeded"


def test_a_fresh_bag_the_catalog_never_had_is_committed_once(tmp_path: Path) -> None:
    """Outputs extracted before the lake existed (or without --lake) join it on the next run."""
    lake = Target(str(tmp_path / "lake"))
    old = write_bag_output(tmp_path / "out", "old", 4)
    fresh = replace(result_for("old", old), status=BagStatus.UNCHANGED)
    commit_run([fresh], tmp_path, lake, "run-1")
    assert len(_rows(tmp_path / "lake")) == 4
    commit_run([fresh], tmp_path, lake, "run-2")
    assert commit_count(lake, "tables/sensor_msgs__imu") == 1
