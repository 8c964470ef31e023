"""The processor's derived tables in the fleet (issue 13): TF transforms, synchronized tables and
video frame indexes, on real bags through the orchestrator, run twice, then with a failure."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from orchestrator.cli import main as orchestrator
from orchestrator.lakehouse.delta import Target, commit_count
from orchestrator.lakehouse.names import TF_TABLE, VIDEO_TABLE, sync_table_name, table_name
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
    return rows.filter(pa.compute.equal(rows.column("bag_id"), bag_id))


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
    topics = dict(zip(*pa.compute.value_counts(rows.column("topic")).flatten(), strict=True))
    assert {str(k): v.as_py() for k, v in topics.items()} == {"/tf": 2688, "/tf_static": 1}


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
    per_topic: dict[str, int] = {}
    for topic in rows.column("topic").to_pylist():
        per_topic[topic] = per_topic.get(topic, 0) + 1
    assert per_topic == videos


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
