"""`--sync REF --with TOPIC ...`: the synchronized table, checked row by row against a join
computed another way (a plain-Python loop over every candidate message of a direct rosbags
read), on real bags and on bags written here with known timestamps."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_typestore

from processor.options import tolerance_ns
from processor.sync import match, prefix
from tests.processor.helpers import BAGS, direct_messages, manifest, run_cli

NOETIC = get_typestore(Stores.ROS1_NOETIC)
HUMBLE = get_typestore(Stores.ROS2_HUMBLE)
POINT, STRING = "geometry_msgs/msg/PointStamped", "std_msgs/msg/String"
BASE = 1_700_000_000_000_000_000
MS = 1_000_000
REF_LOG = [10, 20, 30, 40, 50, 60]
# Before the first REF; half way between two REF messages; twice the same time; exactly the
# tolerance from two REF messages; after the last. Header stamps out of order.
OTHER_LOG = [2, 15, 25, 25, 45, 70]
OTHER_STAMP = [61, 44, 9, 31, 20, 3]
REF_STAMP = [13, 17, 33, 38, 55, 58]


# ---------------------------------------------------------------- the reference join


def reference_rows(
    ref_keys: list[int], other_keys: list[int], method: str, tolerance: int
) -> list[int | None]:
    """Per REF key, the index of its match among `other_keys`, by trying every candidate:
    the smallest distance wins, then a candidate before the REF time, then the later row."""
    rows: list[int | None] = []
    for ref in ref_keys:
        best: tuple[tuple[int, bool, int], int] | None = None
        for index, key in enumerate(other_keys):
            gap = key - ref
            if gap > tolerance or gap < -tolerance or (method == "last-before" and gap > 0):
                continue
            rank = (abs(gap), gap > 0, -index)
            if best is None or rank < best[0]:
                best = (rank, index)
        rows.append(None if best is None else best[1])
    return rows


def keys(messages: list[tuple[int, Any]], clock: str) -> list[int]:
    if clock == "log":
        return [log_time for log_time, _ in messages]
    return [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for _, m in messages]


def parquet_rows(path: Path) -> list[dict[str, Any]]:
    """Rows as Python values (timestamps as int64 nanoseconds: datetime has microseconds)."""
    table = pq.read_table(path)
    as_ns = [
        pa.field(f.name, pa.int64()) if pa.types.is_timestamp(f.type) else f for f in table.schema
    ]
    return table.cast(pa.schema(as_ns)).to_pylist()


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def check_against_reference(
    folder: Path,
    bag: Path,
    reference: str,
    others: list[str],
    *,
    method: str,
    clock: str,
    tolerance: int,
    fmt: str,
) -> dict[str, Any]:
    """Every row and cell of the synchronized table, against the per-topic tables' rows that
    the reference join picks (their own cells tested elsewhere against rosbags)."""
    document = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    entry = document["sync"]
    names = {t["topic"]: t["name"] for t in document["topics"]}
    direct: dict[str, list[tuple[int, Any]]] = {t: [] for t in [reference, *others]}
    direct.update(direct_messages(bag))
    ref_keys = keys(direct[reference], clock)
    sync_path = folder / entry["files"][0]
    own = {t: folder / f"{names[t]}.{fmt}" for t in [reference, *others]}
    if fmt == "parquet":
        wide = parquet_rows(sync_path)
        tables = {t: parquet_rows(p) for t, p in own.items()}
    else:
        wide = read_rows(sync_path)
        tables = {t: read_rows(p) for t, p in own.items()}
    assert len(wide) == len(direct[reference]) == len(tables[reference]) == entry["rows"]
    by_topic: dict[str, dict[str, str]] = {}
    for column, source in entry["columns"].items():
        by_topic.setdefault(source["topic"], {})[column] = source["column"]
    null = None if fmt == "parquet" else ""
    for row, ref_row in zip(wide, tables[reference], strict=True):
        assert row["log_time_ns"] == ref_row["log_time_ns"]
        for column, field in by_topic[reference].items():
            assert row[column] == ref_row[field], column
    for joined, other in zip(entry["joined"], others, strict=True):
        assert joined["topic"] == other
        assert len(tables[other]) == len(direct[other])
        expected = reference_rows(ref_keys, keys(direct[other], clock), method, tolerance)
        other_keys = keys(direct[other], clock)
        assert joined["matched"] == sum(e is not None for e in expected)
        for number, (row, index) in enumerate(zip(wide, expected, strict=True)):
            for column, field in by_topic[other].items():
                if index is None:
                    assert row[column] == null, (number, column)
                elif field == "sync_offset_ns":
                    gap = other_keys[index] - ref_keys[number]
                    assert row[column] == (gap if fmt == "parquet" else str(gap)), number
                else:
                    assert row[column] == tables[other][index][field], (number, column)
    return entry


# ---------------------------------------------------------------- bags written here


def point(store: Any, stamp_ms: int, value: float) -> Any:
    ns = BASE + stamp_ms * MS
    types = store.types
    header = types["std_msgs/msg/Header"]
    kwargs: dict[str, Any] = {"seq": 0} if store is NOETIC else {}
    return types[POINT](
        header=header(
            **kwargs,
            stamp=types["builtin_interfaces/msg/Time"](sec=ns // 10**9, nanosec=ns % 10**9),
            frame_id="f",
        ),
        point=types["geometry_msgs/msg/Point"](x=value, y=-value, z=0.5),
    )


def write_known(path: Path, *, ros2: bool = False) -> Path:
    """/ref and /other (PointStamped, the timestamps above), /empty (no message), /text
    (String: no header)."""
    store = HUMBLE if ros2 else NOETIC

    def raw(message: Any, msgtype: str) -> bytes:
        if ros2:
            return bytes(store.serialize_cdr(message, msgtype))
        return bytes(store.serialize_ros1(message, msgtype))

    def fill(writer: Any, add: Any) -> None:
        ref, other = add("/ref", POINT), add("/other", POINT)
        add("/empty", POINT)
        text = add("/text", STRING)
        timeline: list[tuple[int, Any, bytes]] = []
        for i, (log, stamp) in enumerate(zip(REF_LOG, REF_STAMP, strict=True)):
            timeline.append((log, ref, raw(point(store, stamp, float(i)), POINT)))
        for i, (log, stamp) in enumerate(zip(OTHER_LOG, OTHER_STAMP, strict=True)):
            timeline.append((log, other, raw(point(store, stamp, 100.0 + i), POINT)))
        timeline.append((31, text, raw(store.types[STRING](data='a "quoted", text'), STRING)))
        for log, connection, data in sorted(timeline, key=lambda entry: entry[0]):
            writer.write(connection, BASE + log * MS, data)

    if ros2:
        with Writer2(path, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
            fill(
                writer,
                lambda topic, msgtype: writer.add_connection(topic, msgtype, typestore=store),
            )
    else:
        with Writer1(path) as writer:
            fill(
                writer,
                lambda topic, msgtype: writer.add_connection(topic, msgtype, typestore=store),
            )
    return path


@pytest.fixture(scope="module")
def known(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_known(tmp_path_factory.mktemp("known") / "known.bag")


@pytest.fixture(scope="module")
def known_ros2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_known(tmp_path_factory.mktemp("known2") / "known2", ros2=True)


def sync_run(
    capsys: pytest.CaptureFixture[str], bag: Path, out: Path, *args: str
) -> tuple[int, str, Path]:
    status, _, err = run_cli(capsys, "extract", bag, out, *args)
    return status, err, out / bag.name.removesuffix(".bag")


def offsets(folder: Path, column: str) -> list[Any]:
    return pq.read_table(folder / "sync" / "ref.parquet").column(column).to_pylist()


def test_nearest_on_log_time_pins_ties_and_the_inclusive_boundary(
    capsys: pytest.CaptureFixture[str], known: Path, tmp_path: Path
) -> None:
    status, err, folder = sync_run(
        capsys, known, tmp_path, "--sync", "/ref", "--with", "/other", "/empty",
        "--sync-tolerance", "0.005", "--format", "parquet",
    )  # fmt: skip
    assert status == 0, err
    # 10: /other at 15 (+5 ms, the boundary, inclusive); 20: 15 and 25 as close, the earlier;
    # 30: two at 25, the later recorded (value 103); 40, 50: 45; 60: nothing within 5 ms.
    assert offsets(folder, "/other.sync_offset_ns") == [
        5 * MS,
        -5 * MS,
        -5 * MS,
        5 * MS,
        -5 * MS,
        None,
    ]
    assert offsets(folder, "/other.point.x") == [101.0, 101.0, 103.0, 104.0, 104.0, None]
    assert offsets(folder, "/empty.log_time_ns") == [None] * 6  # a topic with no messages
    assert offsets(folder, "/ref.point.x") == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert "synchronized table sync/ref.parquet: 6 rows of /ref" in err
    assert "/other matched 5 (1 null)" in err


def test_last_before_keeps_earlier_messages_and_a_nanosecond_past_the_tolerance_is_null(
    capsys: pytest.CaptureFixture[str], known: Path, tmp_path: Path
) -> None:
    status, err, folder = sync_run(
        capsys, known, tmp_path, "--sync", "/ref", "--with", "/other",
        "--sync-method", "last-before", "--sync-tolerance", "0.008", "--format", "parquet",
    )  # fmt: skip
    assert status == 0, err
    # 10: /other at 2, 8 ms before it (a message before the first REF); 40: 25 is 15 ms back.
    assert offsets(folder, "/other.point.x") == [100.0, 101.0, 103.0, None, 104.0, None]
    status, err, folder = sync_run(
        capsys, known, tmp_path / "b", "--sync", "/ref", "--with", "/other",
        "--sync-method", "last-before", "--sync-tolerance", "0.007999999", "--format", "parquet",
    )  # fmt: skip
    assert offsets(folder, "/other.point.x") == [None, 101.0, 103.0, None, 104.0, None]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("method", ["nearest", "last-before"])
@pytest.mark.parametrize("clock", ["log", "header"])
@pytest.mark.parametrize("tolerance", ["0.005", "0.1"])
def test_written_bags_match_the_reference_join_row_by_row(
    capsys: pytest.CaptureFixture[str],
    known: Path,
    known_ros2: Path,
    tmp_path: Path,
    fmt: str,
    method: str,
    clock: str,
    tolerance: str,
) -> None:
    for bag in (known, known_ros2):
        status, err, folder = sync_run(
            capsys, bag, tmp_path / bag.name, "--sync", "/ref", "--with", "/other", "/empty",
            "--sync-method", method, "--sync-clock", clock, "--sync-tolerance", tolerance,
            "--format", fmt,
        )  # fmt: skip
        assert status == 0, err
        check_against_reference(
            folder, bag, "/ref", ["/other", "/empty"],
            method=method, clock=clock, tolerance=tolerance_ns(tolerance), fmt=fmt,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("bag", "reference", "others", "clock"),
    [
        ("jackal-imu-odom.bag", "/imu/data", ["/jackal_velocity_controller/odom"], "header"),
        ("jackal-imu-odom.bag", "/jackal_velocity_controller/odom", ["/imu/data"], "log"),
        ("turtlesim.bag", "/turtle1/pose", ["/turtle2/pose", "/turtle1/cmd_vel"], "log"),
        ("magnetic-temperature.bag", "/my_temperature", ["/my_magnetic_field"], "header"),
    ],
)
@pytest.mark.parametrize(("method", "fmt"), [("nearest", "parquet"), ("last-before", "csv")])
def test_real_bags_match_the_reference_join_row_by_row(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    bag: str,
    reference: str,
    others: list[str],
    clock: str,
    method: str,
    fmt: str,
) -> None:
    path = BAGS / bag
    status, err, folder = sync_run(
        capsys, path, tmp_path, "--sync", reference, "--with", *others, "--sync-method", method,
        "--sync-clock", clock, "--sync-tolerance", "0.025", "--format", fmt,
    )  # fmt: skip
    assert status == 0, err
    entry = check_against_reference(
        folder, path, reference, others, method=method, clock=clock, tolerance=25 * MS, fmt=fmt
    )
    assert all(j["matched"] for j in entry["joined"])  # the joins are not all null


def test_the_manifest_records_the_options_the_columns_and_the_matches(
    capsys: pytest.CaptureFixture[str], known: Path, tmp_path: Path
) -> None:
    status, err, folder = sync_run(
        capsys, known, tmp_path, "--sync", "ref", "--with", "other", "--column-names", "underscore"
    )
    assert status == 0, err
    document = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    wanted = {
        "reference": "/ref",
        "with": ["/other"],
        "tolerance_ns": 100 * MS,
        "method": "nearest",
        "clock": "log",
    }
    assert document["options"]["sync"] == wanted
    entry = document["sync"]
    assert entry["files"] == ["sync/ref.csv"] and entry["rows"] == 6
    assert [p.name for p in (folder / "sync").iterdir()] == ["ref.csv"]
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # no scratch left
    assert entry["joined"] == [
        {
            "topic": "/other",
            "name": "other",
            "prefix": "other",
            "matched": 6,
            "unmatched": 0,
            "largest_offset_ns": 10 * MS,
        }
    ]
    assert entry["columns"]["other_point_x"] == {"topic": "/other", "column": "point_x"}
    assert entry["columns"]["other_sync_offset_ns"] == {
        "topic": "/other",
        "column": "sync_offset_ns",
    }
    header = next(csv.reader((folder / "sync" / "ref.csv").open(encoding="utf-8")))
    assert header[:3] == ["log_time_ns", "log_time", "ref_header_seq"]
    assert "other_log_time_ns" in header and "other_log_time" in header
    # Without --sync the options (and so the orchestrator's freshness) are as before.
    status, err, plain = sync_run(capsys, known, tmp_path / "plain")
    document = json.loads((plain / "manifest.json").read_text(encoding="utf-8"))
    assert "sync" not in document["options"] and "sync" not in document
    assert not (plain / "sync").exists()


def test_csv_cells_are_the_topic_tables_cells_and_nulls_are_empty(
    capsys: pytest.CaptureFixture[str], known: Path, tmp_path: Path
) -> None:
    status, err, folder = sync_run(
        capsys, known, tmp_path, "--sync", "/other", "--with", "/text", "/ref",
        "--sync-tolerance", "0.002",
    )  # fmt: skip
    assert status == 0, err
    lines = (folder / "sync" / "other.csv").read_text(encoding="utf-8").splitlines()
    text_line = (folder / "text.csv").read_text(encoding="utf-8").splitlines()[1]
    assert len(lines) == 1 + len(OTHER_LOG)
    # /other at 25 ms (twice): /text at 31 ms is 6 ms off, too far; nothing matches at 2 ms.
    # With a tolerance of 0.006 the quoted string comes through exactly as /text.csv has it.
    assert all(",,," in line for line in lines[1:])
    status, err, folder = sync_run(
        capsys, known, tmp_path / "b", "--sync", "/other", "--with", "/text",
        "--sync-tolerance", "0.006",
    )  # fmt: skip
    rows = (folder / "sync" / "other.csv").read_text(encoding="utf-8").splitlines()
    log_ns, iso, data = text_line.split(",", 2)
    for line in rows[3:5]:  # /other at 25 ms, twice: /text at 31 ms, 6 ms later
        assert line.endswith(f",{log_ns},{iso},6000000,{data}")
    assert rows[2].endswith(",,,,")


def test_shards_then_merge_give_the_unsharded_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bag = BAGS / "jackal-imu-odom.bag"
    flags = ["--sync", "/imu/data", "--with", "/jackal_velocity_controller/odom"]
    for fmt in ("csv", "parquet"):
        whole = tmp_path / f"whole-{fmt}"
        assert sync_run(capsys, bag, whole, *flags, "--format", fmt)[0] == 0
        parts = tmp_path / f"parts-{fmt}"
        for shard in ("1/2", "2/2"):
            assert sync_run(capsys, bag, parts, *flags, "--format", fmt, "--shard", shard)[0] == 0
        assert not (parts / ".jackal-imu-odom.shards" / "1-of-2" / "sync").exists()
        assert run_cli(capsys, "merge", bag, parts, "--shards", "2")[0] == 0
        one, two = (p / "jackal-imu-odom" / "sync" / f"imu.data.{fmt}" for p in (whole, parts))
        if fmt == "csv":
            assert one.read_bytes() == two.read_bytes()
        else:
            assert pq.read_table(one).equals(pq.read_table(two))
        documents = [
            json.loads((p / "jackal-imu-odom" / "manifest.json").read_text(encoding="utf-8"))
            for p in (whole, parts)
        ]
        assert documents[0]["sync"] == documents[1]["sync"]


MAX_SECONDS = "9223372036.854775807"  # int64 nanoseconds


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--with", "/other"], "--with needs --sync REF"),
        (["--sync-method", "last-before"], "--sync-method needs --sync REF"),
        (["--sync", "/ref"], "--sync needs --with TOPIC"),
        (["--sync", "/ref", "--with", "ref"], "that is the --sync topic itself"),
        (["--sync", "/ref", "--with", "/other", "--sync-tolerance", "-1"], "non-negative"),
        (["--sync", "/ref", "--with", "/other", "--sync-tolerance", "nan"], "non-negative"),
        # Beyond int64 nanoseconds, however spelled, and digits other than ASCII's.
        *(
            (["--sync", "/ref", "--with", "/other", "--sync-tolerance", big], MAX_SECONDS)
            for big in ("1e400", "1e30", "1e99999999", "9223372037", "\u0661", "0.\u0665")
        ),
        (["--sync", "/ref", "--with", "/other", "--topics", "/ref"], "not among --topics"),
    ],
)
def test_bad_sync_command_lines_exit_2(
    capsys: pytest.CaptureFixture[str], known: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        run_cli(capsys, "extract", known, tmp_path, *args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not tmp_path.joinpath("known").exists()


def test_the_largest_tolerance_is_accepted_and_a_finished_output_exits_by_its_manifest(
    capsys: pytest.CaptureFixture[str],
    known: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    status, err, folder = sync_run(
        capsys, known, tmp_path, "--sync", "/ref", "--with", "/other",
        "--sync-tolerance", "9223372036.854775807",
    )  # fmt: skip
    assert status == 0, err
    assert manifest(folder)["sync"]["tolerance_ns"] == 2**63 - 1

    # Whatever fails once the output is marked complete, the run's status is its manifest's.
    def broken(*_: Any) -> list[str]:
        raise OverflowError("summary")

    monkeypatch.setattr("processor.report.outcome", broken)
    status, err, folder = sync_run(
        capsys, known, tmp_path / "again", "--sync", "/ref", "--with", "/other"
    )
    assert status == 0, err
    assert (folder / "_SUCCESS").exists()
    assert "warning" in err and "summary" in err and "nothing was marked complete" not in err


def test_bad_sync_input_is_one_line_exit_2_before_extracting(
    capsys: pytest.CaptureFixture[str], known: Path, tmp_path: Path
) -> None:
    status, err, folder = sync_run(
        capsys, known, tmp_path, "--sync", "/ref", "--with", "/text", "--sync-clock", "header"
    )
    assert status == 2 and not folder.exists()
    assert "/text (std_msgs/msg/String) has no header stamp" in err and "--sync-clock log" in err
    status, err, folder = sync_run(capsys, known, tmp_path, "--sync", "/ref", "--with", "/gps")
    assert status == 2 and not folder.exists()
    assert "--sync/--with topic(s) /gps not in the bag (available: /empty, /other" in err


def test_missing_topics_skip_leaves_absent_topics_out(
    capsys: pytest.CaptureFixture[str], known: Path, tmp_path: Path
) -> None:
    skip = ["--missing-topics", "skip", "--format", "parquet"]
    status, err, folder = sync_run(
        capsys, known, tmp_path, "--sync", "/ref", "--with", "/gps", "/other", *skip
    )
    assert status == 0, err
    entry = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["sync"]
    assert entry["absent_topics"] == ["/gps"]
    assert [j["topic"] for j in entry["joined"]] == ["/other"]
    assert "not in the bag: /gps" in err
    status, err, folder = sync_run(
        capsys, known, tmp_path / "b", "--sync", "/gps", "--with", "/other", *skip
    )
    assert status == 0, err
    entry = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["sync"]
    assert entry["files"] == [] and "the reference topic /gps is not in the bag" in entry["reason"]
    assert not (folder / "sync").exists()


def test_positionals_after_with(
    capsys: pytest.CaptureFixture[str], known: Path, tmp_path: Path
) -> None:
    status, _, err = run_cli(
        capsys,
        "extract",
        "--topics",
        "/ref",
        "/other",
        "--sync",
        "/ref",
        "--with",
        "/other",
        known,
        tmp_path,
    )
    assert status == 0, err
    assert (tmp_path / "known" / "sync" / "ref.csv").is_file()


def test_untrusted_topic_names_give_distinct_prefixes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bag = tmp_path / "names.bag"
    topics = ["/a/b", "/a.b", '/a b\n,"x', "rel"]
    with Writer1(bag) as writer:
        connections = [writer.add_connection(t, POINT, typestore=NOETIC) for t in topics]
        for i in range(3):
            for c in connections:
                writer.write(c, BASE + i * MS, NOETIC.serialize_ros1(point(NOETIC, i, i), POINT))
    status, err, folder = sync_run(
        capsys,
        bag,
        tmp_path / "out",
        "--sync",
        "/a/b",
        "--with",
        *topics[1:],
        "--format",
        "parquet",
    )
    assert status == 0, err
    names = pq.read_schema(folder / "sync" / "a.b.parquet").names
    assert len(names) == len(set(names))
    prefixes = {name.split(".", 1)[0] for name in names[2:]}
    assert prefixes == {"/a/b", "/a%2Eb", "/a%20b%0A%2C%22x", "~rel"}
    assert pq.read_table(folder / "sync" / "a.b.parquet").column("~rel.point.x").to_pylist() == [
        0.0,
        1.0,
        2.0,
    ]


def test_prefix_and_match_units() -> None:
    assert prefix("imu.data", ".") == "/imu/data"
    assert prefix("imu.data", "_") == "imu_data"
    assert prefix("~rel.x", ".") == "~rel/x"
    sorted_keys = pa.array([5, 10, 10, 20]).to_numpy()
    order = pa.array([3, 0, 1, 2]).to_numpy()
    times = pa.array([0, 7, 10, 15, 26]).to_numpy()
    assert match(sorted_keys, order, times, "nearest", 5).tolist() == [3, 3, 1, 1, -1]
    assert match(sorted_keys, order, times, "last-before", 5).tolist() == [-1, 3, 1, 1, -1]
    assert match(sorted_keys[:0], order[:0], times, "nearest", 5).tolist() == [-1] * 5


def test_topics_that_cannot_be_synchronized_are_exit_2_before_extracting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    undecodable = BAGS / "empty-definition.bag"
    status, err, folder = sync_run(
        capsys, undecodable, tmp_path, "--sync", "/led_array_status", "--with", "/led_array_status2"
    )
    assert status == 2 and "not in the bag" in err
    bag = tmp_path / "two.bag"
    with Writer1(bag) as writer:
        ref = writer.add_connection("/ref", POINT, typestore=NOETIC)
        twice = writer.add_connection("/twice", POINT, typestore=NOETIC)
        text = writer.add_connection("/twice", STRING, typestore=NOETIC)
        writer.write(ref, BASE, NOETIC.serialize_ros1(point(NOETIC, 0, 0.0), POINT))
        writer.write(twice, BASE, NOETIC.serialize_ros1(point(NOETIC, 0, 0.0), POINT))
        writer.write(text, BASE, NOETIC.serialize_ros1(NOETIC.types[STRING](data="x"), STRING))
    status, err, folder = sync_run(
        capsys, bag, tmp_path / "two", "--sync", "/ref", "--with", "/twice"
    )
    assert status == 2 and not folder.exists()
    assert "cannot synchronize /twice: it has 2 tables (twice, twice~2" in err
    status, err, folder = sync_run(
        capsys, undecodable, tmp_path / "u", "--sync", "/led_array_status", "--with", "/x",
        "--missing-topics", "skip",
    )  # fmt: skip
    assert status == 2 and not folder.exists()
    assert "cannot synchronize /led_array_status: its messages cannot be decoded (" in err
