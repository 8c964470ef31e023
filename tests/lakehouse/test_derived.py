"""The processor's derived tables in the fleet (issue 13): TF transforms, synchronized tables and
video frame indexes, on real bags through the orchestrator, run twice, then with a failure."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from orchestrator.cli import main as orchestrator
from orchestrator.lakehouse import commit_run
from orchestrator.lakehouse.delta import Target, commit_count
from orchestrator.lakehouse.names import TF_TABLE, VIDEO_TABLE, sync_table_name, table_name
from orchestrator.lakehouse.outputs import read_output
from scripts.bench_lake_commit import START_NS, result_for, write_bag_output
from tests.lakehouse.delta_log import read_table

BAGS = Path(__file__).parents[1] / "data" / "bags"
KEYS = ("bag_id", "topic", "date")
SYNC = ["--sync", "/turtle1/pose", "--with", "/turtle1/cmd_vel", "/turtle2/pose"]
SYNC_TABLE = sync_table_name("/turtle1/pose", ["/turtle1/cmd_vel", "/turtle2/pose"])
pytestmark = pytest.mark.slow


def _run(root: Path, fmt: str, *extra: str) -> list[int]:
    """The TF and sync bag, then the camera bag with --video (the orchestrator passes no
    --missing-topics, so the camera bag cannot take the --sync): two runs into one lake."""
    argv = ["extract", "--executor", "local", "--format", fmt, "--lake", str(root / "lake")]
    argv += ["--output", str(root / "out"), *extra]
    return [
        orchestrator([*argv, "--input", str(root / "raw"), *SYNC]),
        orchestrator([*argv, "--input", str(root / "cams"), "--video"]),
    ]


def _counts(lake: Path) -> dict[str, int]:
    return {t.name: len(DeltaTable(str(t)).to_pyarrow_table()) for t in (lake / "tables").iterdir()}


def _bag_rows(lake: Path, table: str, bag_id: str) -> pa.Table:
    rows = read_table(lake / "tables" / table)  # the log's files, not deltalake's reading
    if rows.num_rows == 0:  # no live file: no columns either
        return rows
    return rows.filter(pc.field("bag_id") == bag_id)


def _sorted(rows: pa.Table) -> list[tuple]:
    return sorted(tuple(map(repr, row.values())) for row in rows.to_pylist())


def _read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    return pcsv.read_csv(path)


@pytest.fixture(scope="module", params=["parquet", "csv"])
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    fmt = request.param
    root = tmp_path_factory.mktemp(f"derived-{fmt}")
    for folder, name in (("raw", "turtlesim.bag"), ("cams", "camera-drive.bag")):
        (root / folder).mkdir()
        shutil.copy(BAGS / name, root / folder / name)
    codes = _run(root, fmt)
    first = _counts(root / "lake")
    codes += _run(root, fmt, "--force")
    return {"root": root, "lake": root / "lake", "fmt": fmt, "codes": codes, "first": first}


def test_the_tf_table_holds_the_bags_transforms(runs: dict) -> None:
    assert runs["codes"] == [0, 0, 0, 0]
    transforms = _read(runs["root"] / "out" / "turtlesim" / "tf" / f"transforms.{runs['fmt']}")
    rows = _bag_rows(runs["lake"], TF_TABLE, "raw/turtlesim.bag")
    assert rows.num_rows == transforms.num_rows == 2689  # PROVENANCE.md: 2688 x 1 + 1 static
    mine = rows.drop_columns(list(KEYS)).select(transforms.column_names)
    # Delta keeps microseconds: log_time compared on what it holds, every other column exactly;
    # the lake's rows come in its files' order (one file per partition), so as sorted rows.
    at = transforms.column_names.index("log_time")
    theirs = transforms.set_column(
        at, "log_time", transforms.column(at).cast(pa.timestamp("us", tz="UTC"), safe=False)
    )
    assert _sorted(mine) == _sorted(theirs)
    assert Counter(rows.column("topic").to_pylist()) == {"/tf": 2688, "/tf_static": 1}


def test_running_twice_gives_identical_counts_and_one_commit_per_table_per_run(runs: dict) -> None:
    assert _counts(runs["lake"]) == runs["first"]
    target = Target(str(runs["lake"]))
    for name in (TF_TABLE, SYNC_TABLE, VIDEO_TABLE):
        assert commit_count(target, f"tables/{name}") == 2, name


def test_a_sync_run_lands_its_table(runs: dict) -> None:
    manifest = json.loads((runs["root"] / "out" / "turtlesim" / "manifest.json").read_text())
    rows = _bag_rows(runs["lake"], SYNC_TABLE, "raw/turtlesim.bag")
    assert rows.num_rows == manifest["sync"]["rows"] == 1344  # one per /turtle1/pose message
    assert set(rows.column("topic").to_pylist()) == {"/turtle1/pose"}
    assert set(manifest["sync"]["columns"]) <= set(rows.column_names)


def test_the_video_frame_index_lands_with_bag_and_topic(runs: dict) -> None:
    manifest = json.loads((runs["root"] / "out" / "camera-drive" / "manifest.json").read_text())
    videos = {t["topic"]: t["video"]["frames"] for t in manifest["topics"] if t.get("video")}
    assert videos  # the camera topics were encoded
    rows = _bag_rows(runs["lake"], VIDEO_TABLE, "cams/camera-drive.bag")
    assert Counter(rows.column("topic").to_pylist()) == videos


def test_a_bag_that_now_fails_loses_its_derived_rows(runs: dict) -> None:
    if runs["fmt"] != "parquet":
        pytest.skip("once is enough")
    root = runs["root"]
    (root / "raw" / "turtlesim.bag").write_bytes(b"#ROSBAG V2.0\n" + b"\x00garbage" * 64)
    assert _run(root, runs["fmt"], "--force")[0] != 0
    for name in (TF_TABLE, SYNC_TABLE):
        assert _bag_rows(runs["lake"], name, "raw/turtlesim.bag").num_rows == 0, name
    assert _bag_rows(runs["lake"], VIDEO_TABLE, "cams/camera-drive.bag").num_rows > 0


def test_derived_names_are_never_a_message_types() -> None:
    for msgtype in ("tf/msg/Transforms", "derived/msg/Tf__transforms", "video/Frames"):
        assert table_name(msgtype) not in (TF_TABLE, VIDEO_TABLE)
    assert TF_TABLE.count("__") == VIDEO_TABLE.count("__") == 2


def test_sync_names_are_safe_and_tell_topics_apart() -> None:
    hostile = sync_table_name("/../x'; DROP TABLE bags; --/é", ["/a"])
    assert hostile.startswith("derived__sync__x_drop_table_bags__")
    assert set(hostile) <= set("abcdefghijklmnopqrstuvwxyz0123456789_")
    alike = {sync_table_name(ref, ["/b"]) for ref in ("/a.b", "/a/b", "/A/B")}
    assert len(alike) == 3
    assert sync_table_name("/r", ["/b", "/c"]) == sync_table_name("/r", ["/c", "/b"])
    assert sync_table_name("/r", ["/b"]) != sync_table_name("/r", ["/b", "/c"])
    assert sync_table_name("///", []).startswith("derived__sync__topic__")


def _with_transforms(root: Path, folder: PurePosixPath, child: pa.Array) -> None:
    """Give a synthetic output a tf/transforms.parquet and the manifest's `tf` key."""
    times = pa.array([START_NS + i for i in range(len(child))], pa.int64())
    transforms = pa.table(
        {
            "log_time_ns": times,
            "log_time": times.cast(pa.timestamp("ns", tz="UTC")),
            "parent_frame": pa.array(["map"] * len(child)),
            "child_frame": child,
            "static": pa.array([False] * len(child)),
        }
    )
    (root / folder / "tf").mkdir()
    pq.write_table(transforms, root / folder / "tf" / "transforms.parquet")
    manifest_path = root / folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tf"] = {"files": ["tf/transforms.parquet", "tf/tree.json"], "transforms": len(child)}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")


def test_a_type_conflict_in_a_derived_table_rejects_the_bag_from_every_table(
    tmp_path: Path,
) -> None:
    lake = Target(str(tmp_path / "lake"))
    first = write_bag_output(tmp_path / "out", "first", 3)
    _with_transforms(tmp_path, first, pa.array(["base_link"] * 2))
    commit_run([result_for("first", first)], tmp_path, lake, "run-1")
    clash = write_bag_output(tmp_path / "out", "clash", 3)
    _with_transforms(tmp_path, clash, pa.array([7, 8]))
    result = commit_run([result_for("clash", clash)], tmp_path, lake, "run-2")
    assert (
        f"table {TF_TABLE}: column 'child_frame' is string in the lake but int64"
        in (result.conflicts["raw/clash.bag"])
    )
    for table in (TF_TABLE, table_name("sensor_msgs/msg/Imu")):
        assert _bag_rows(tmp_path / "lake", table, "raw/clash.bag").num_rows == 0, table


def test_a_manifest_path_outside_the_bags_folder_is_not_read(tmp_path: Path) -> None:
    folder = write_bag_output(tmp_path / "out", "sly", 2)
    (tmp_path / "out" / "secret.parquet").write_bytes(b"not ours")
    manifest_path = tmp_path / folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["tf"] = {"files": ["../secret.parquet", "/etc/passwd.csv"], "transforms": 1}
    manifest["topics"][0]["video"] = {"index": "../secret.parquet", "frames": 1}
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    assert read_output(PurePosixPath("raw/sly.bag"), tmp_path / folder).derived == []


def test_a_csv_column_with_no_values_does_not_fix_its_type(tmp_path: Path) -> None:
    """A joined topic with no match (tolerance 0) gives empty CSV columns: no type. A bag that
    has values there later must land, not be rejected as a type conflict with `null`."""
    lake = tmp_path / "lake"
    for folder, tolerance in (("none", "0"), ("all", "0.1")):
        (tmp_path / folder).mkdir()
        shutil.copy(BAGS / "turtlesim.bag", tmp_path / folder / "turtlesim.bag")
        argv = ["extract", "--executor", "local", "--format", "csv", "--lake", str(lake)]
        argv += ["--input", str(tmp_path / folder), "--output", str(tmp_path / f"out-{folder}")]
        argv += ["--sync", "/turtle1/pose", "--with", "/turtle1/cmd_vel"]
        assert orchestrator([*argv, "--sync-tolerance", tolerance]) == 0
    name = sync_table_name("/turtle1/pose", ["/turtle1/cmd_vel"])
    table = DeltaTable(str(lake / "tables" / name)).to_pyarrow_table()
    offsets = pc.field("bag_id") == "all/turtlesim.bag"
    matched = table.filter(offsets).column("/turtle1/cmd_vel.sync_offset_ns")
    assert pa.types.is_integer(matched.type) and matched.null_count < len(matched)
    unmatched = table.filter(pc.field("bag_id") == "none/turtlesim.bag")
    assert unmatched.num_rows == 1344
    assert unmatched.column("/turtle1/cmd_vel.sync_offset_ns").null_count == 1344
