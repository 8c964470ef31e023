"""Time slices (`--start`/`--end`, issue 13): the rows are exactly a rosbags read filtered by
time plus the latched state from before the start, on ROS 1, MCAP and sqlite3; slices compose
with --topics, shards and both formats; they read less of the bag; bad values are one line."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from rosbags.highlevel import AnyReader
from rosbags.interfaces import (
    ConnectionExtRosbag1,
    ConnectionExtRosbag2,
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag1 import Writer as Writer1
from rosbags.rosbag2 import StoragePlugin
from rosbags.rosbag2 import Writer as Writer2
from rosbags.typesys import Stores, get_typestore

from processor import run
from processor.bag import open_bag
from processor.options import Options
from processor.timeslice import parse_time
from scripts.synthetic_bags import write_drive
from tests.processor.helpers import BAGS, files_under, manifest, read_csv, run_cli

S = 10**9
START = 1_700_000_000 * S
KINDS = ("ros1", "ros2-mcap", "ros2-sqlite3")


def _qos(durability: QosDurability) -> Qos:
    zero = QosTime(0, 0)
    return Qos(
        QosHistory.KEEP_LAST,
        1,
        QosReliability.RELIABLE,
        durability,
        zero,
        zero,
        QosLiveliness.AUTOMATIC,
        zero,
        avoid_ros_namespace_conventions=False,
    )


def _plan() -> list[tuple[str, str, int]]:
    """(topic, publisher, log time) of the test bag, in log-time order: a 30 s recording.

    /map is latched (two publishers, each a ROS 1 connection of its own), /tf_static is
    static (two publishers), /late is latched but first published after every slice's start,
    /imu and /tf are plain."""
    plan = [("/imu", "imu", START + i * S // 50) for i in range(30 * 50)]
    plan += [("/tf", "tf", START + i * S // 10) for i in range(30 * 10)]
    plan += [("/map", "mapper", START + t * S // 10) for t in (10, 50, 220)]
    plan += [("/map", "other_mapper", START + 30 * S // 10)]
    plan += [("/tf_static", "base", START + 5 * S // 10), ("/tf_static", "arm", START + 2 * S)]
    plan += [("/late", "late", START + 25 * S)]
    return sorted(plan, key=lambda entry: (entry[2], entry[0], entry[1]))


LATCHED = {"/map", "/tf_static", "/late"}


def write_latched_bag(path: Path, kind: str) -> Path:
    """The bag of `_plan`: latched topics as ROS 1 `latching=1` or ROS 2 transient-local."""
    plan = _plan()
    if kind == "ros1":
        store = get_typestore(Stores.ROS1_NOETIC)
        with Writer1(path) as writer:
            writer.chunk_threshold = 8 * 1024  # many chunks, so a slice can skip some
            conns: dict[tuple[str, str], Any] = {}
            for topic, publisher, time in plan:
                key = (topic, publisher)
                if key not in conns:
                    msgtype = "std_msgs/msg/String"
                    conns[key] = writer.add_connection(
                        topic,
                        msgtype,
                        typestore=store,
                        callerid=f"/{publisher}",
                        latching=1 if topic in LATCHED else 0,
                    )
                raw = store.serialize_ros1(_text(store, publisher, time), "std_msgs/msg/String")
                writer.write(conns[key], time, raw)
        return path
    store = get_typestore(Stores.ROS2_HUMBLE)
    plugin = StoragePlugin.MCAP if kind == "ros2-mcap" else StoragePlugin.SQLITE3
    with Writer2(path, version=9, storage_plugin=plugin) as writer2:
        conns2: dict[str, Any] = {}
        for topic, publisher, time in plan:
            if topic not in conns2:
                durability = (
                    QosDurability.TRANSIENT_LOCAL if topic in LATCHED else QosDurability.VOLATILE
                )
                conns2[topic] = writer2.add_connection(
                    topic,
                    "std_msgs/msg/String",
                    typestore=store,
                    offered_qos_profiles=[_qos(durability)],
                )
            raw = store.serialize_cdr(_text(store, publisher, time), "std_msgs/msg/String")
            writer2.write(conns2[topic], time, raw)
    return path


def _text(store: Any, publisher: str, time: int) -> Any:
    return store.types["std_msgs/msg/String"](data=f"{publisher}@{time}")


def expected_rows(bag: Path, start: int | None, end: int | None) -> dict[str, list[int]]:
    """Per topic, the log times the slice must hold, from a whole rosbags read: the messages
    in [start, end), after the last message before `start` of each latched connection (ROS 1
    latching=1, ROS 2 transient-local) and every /tf_static message before it."""
    rows: dict[str, list[int]] = {}
    before: dict[tuple[str, int], list[int]] = {}
    with AnyReader([bag]) as reader:
        for connection, time, _ in reader.messages():
            topic = connection.topic
            ext = connection.ext
            latched = topic == "/tf_static" or (
                ext.latching == 1
                if isinstance(ext, ConnectionExtRosbag1)
                else isinstance(ext, ConnectionExtRosbag2)
                and any(
                    q.durability == QosDurability.TRANSIENT_LOCAL for q in ext.offered_qos_profiles
                )
            )
            rows.setdefault(topic, [])
            if start is not None and time < start:
                if latched:
                    before.setdefault((topic, connection.id), []).append(time)
            elif end is None or time < end:
                rows[topic].append(time)
    for (topic, _), times in before.items():
        rows[topic].extend(times if topic == "/tf_static" else times[-1:])
    return {topic: sorted(times) for topic, times in rows.items()}


def rows_written(folder: Path) -> dict[str, list[int]]:
    """Per topic, the log times of the rows the output holds (CSV or Parquet)."""
    document = manifest(folder)
    rows: dict[str, list[int]] = {}
    for entry in document["topics"]:
        table = folder / entry["files"][0]
        if table.suffix == ".parquet":
            times = pq.read_table(table).column("log_time_ns").to_pylist()
        else:
            times = [int(row["log_time_ns"]) for row in read_csv(table)]
        rows[entry["topic"]] = times
    return rows


@pytest.fixture(scope="module", params=KINDS)
def latched_bag(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    kind = request.param
    folder = tmp_path_factory.mktemp(f"latched-{kind}")
    return write_latched_bag(folder / ("latched.bag" if kind == "ros1" else "latched"), kind)


def _name(bag: Path) -> str:
    return bag.stem if bag.is_file() else bag.name


@pytest.mark.parametrize(
    ("start", "end"),
    [("+10", "+15"), ("+2.5", None), (None, "+4"), ("+0", "+30"), ("+21.95", "+22.15")],
)
def test_slice_rows_are_the_time_filtered_read_plus_latched_state(
    latched_bag: Path,
    start: str | None,
    end: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    flags = [*(["--start", start] if start else []), *(["--end", end] if end else [])]
    status, _, err = run_cli(capsys, "extract", latched_bag, tmp_path, *flags)
    assert status == 0, err
    folder = tmp_path / _name(latched_bag)
    start_ns = None if start is None else START + round(float(start) * S)
    end_ns = None if end is None else START + round(float(end) * S)
    expected = expected_rows(latched_bag, start_ns, end_ns)
    assert rows_written(folder) == expected
    document = manifest(folder)
    assert document["slice"] == {
        "start": start,
        "end": end,
        "start_ns": start_ns,
        "end_ns": end_ns,
    }
    assert document["options"]["start"] == start
    assert document["options"]["end"] == end
    for entry in document["topics"]:  # the latched rows are counted apart
        latched = [t for t in expected[entry["topic"]] if start_ns is not None and t < start_ns]
        assert entry.get("before_start", 0) == len(latched)
    assert document["status"] == "complete"  # a slice is not a shortfall


def test_the_latched_state_is_what_the_plan_says(
    latched_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rule spelled out on the plan, not only as the reference read computes it."""
    assert run_cli(capsys, "extract", latched_bag, tmp_path, "--start", "+10")[0] == 0
    rows = rows_written(tmp_path / _name(latched_bag))
    ros1 = latched_bag.is_file()
    # /map: ROS 1 keeps each publisher's last (two connections), ROS 2 the topic's last.
    assert rows["/map"][: 2 if ros1 else 1] == (
        [START + 3 * S, START + 5 * S] if ros1 else [START + 5 * S]
    )
    assert rows["/tf_static"] == [START + S // 2, START + 2 * S]  # every static publisher
    assert rows["/late"] == [START + 25 * S]  # nothing before the start to keep
    assert rows["/imu"][0] == START + 10 * S  # plain topics start at the start


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_slices_compose_with_shards(
    latched_bag: Path, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--start", "+7.5", "--end", "+23", "--format", fmt]
    assert run_cli(capsys, "extract", latched_bag, tmp_path / "one", *flags)[0] == 0
    for index in range(1, 4):
        shard = ["--shard", f"{index}/3"]
        assert run_cli(capsys, "extract", latched_bag, tmp_path / "three", *flags, *shard)[0] == 0
    status, _, err = run_cli(capsys, "merge", latched_bag, tmp_path / "three", "--shards", "3")
    assert status == 0, err
    one, three = tmp_path / "one" / _name(latched_bag), tmp_path / "three" / _name(latched_bag)
    assert rows_written(three) == rows_written(one)
    if fmt == "csv":
        skip = {"manifest.json"}
        assert {p.name: p.read_bytes() for p in files_under(three) if p.name not in skip} == {
            p.name: p.read_bytes() for p in files_under(one) if p.name not in skip
        }
    merged, whole = manifest(three), manifest(one)
    assert merged.pop("shards") == 3
    assert merged == whole


def test_slices_compose_with_topics(
    latched_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--topics", "/map", "/imu", "--start", "+10", "--end", "+12"]
    assert run_cli(capsys, "extract", latched_bag, tmp_path, *flags)[0] == 0
    rows = rows_written(tmp_path / _name(latched_bag))
    expected = expected_rows(latched_bag, START + 10 * S, START + 12 * S)
    assert rows == {topic: expected[topic] for topic in ("/map", "/imu")}


@pytest.mark.parametrize(
    ("bag_name", "start", "end"),
    [
        ("jackal-imu-odom.bag", "+10", "+20.5"),
        ("turtlesim.bag", "+5", "+10"),
        ("gps-navsatfix.bag", "+3", None),
        ("ros2-sqlite3-custom", "+0.06", None),
        ("ros2-mcap-basic", None, "+0.000000001"),
    ],
)
def test_real_bags_slice_like_a_time_filtered_read(
    bag_name: str,
    start: str | None,
    end: str | None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bag = BAGS / bag_name
    with AnyReader([bag]) as reader:
        first = reader.start_time

    def at(text: str | None) -> int | None:
        return None if text is None else first + parse_time("--start", text).ns

    flags = [*(["--start", start] if start else []), *(["--end", end] if end else [])]
    status, _, err = run_cli(capsys, "extract", bag, tmp_path, *flags)
    assert status == 0, err
    expected = expected_rows(bag, at(start), at(end))
    written = rows_written(tmp_path / _name(bag))
    assert written == {topic: times for topic, times in expected.items() if topic in written}
    assert sum(map(len, written.values())) < sum(
        map(len, expected_rows(bag, None, None).values())
    )  # a real cut, not the whole bag


def test_turtlesim_keeps_its_latched_connections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """turtlesim.bag's /tf_static and /rosout connections are latched (latching=1 in their
    connection headers): their state before the start is kept, and counted."""
    assert run_cli(capsys, "extract", BAGS / "turtlesim.bag", tmp_path, "--start", "+5")[0] == 0
    document = manifest(tmp_path / "turtlesim")
    kept = {t["topic"]: t.get("before_start", 0) for t in document["topics"]}
    assert kept["/tf_static"] == 1
    assert kept["/turtle1/pose"] == 0
    assert "slice:       --start +5 = [" in (tmp_path / "turtlesim" / "info.txt").read_text()


def test_absolute_times_select_like_relative_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "jackal-imu-odom.bag"
    with AnyReader([bag]) as reader:
        first = reader.start_time
    begin, end = first + 10 * S, first + 20 * S + 250_000_000
    seconds, fraction = divmod(end, S)
    iso = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    absolute = ["--start", str(begin), "--end", f"{iso}.{fraction:09d}+00:00"]
    assert run_cli(capsys, "extract", bag, tmp_path / "abs", *absolute)[0] == 0
    relative = ["--start", "+10", "--end", "+20.25"]
    assert run_cli(capsys, "extract", bag, tmp_path / "rel", *relative)[0] == 0
    assert rows_written(tmp_path / "abs" / bag.stem) == rows_written(tmp_path / "rel" / bag.stem)
    assert manifest(tmp_path / "abs" / bag.stem)["slice"]["end_ns"] == end


@pytest.mark.parametrize(
    ("text", "ns", "relative"),
    [
        ("1700000000000000000", START, False),
        ("2023-11-14T22:13:20Z", START, False),
        ("2023-11-14T22:13:20.000000001Z", START + 1, False),
        ("2023-11-14T23:13:20,5+01:00", START + S // 2, False),
        ("2023-11-14 22:13:20.25Z", START + S // 4, False),
        ("20231114T221320.5Z", START + S // 2, False),  # ISO 8601's basic format
        ("+10", 10 * S, True),
        ("+2.5", 2 * S + S // 2, True),
        ("+.25", S // 4, True),
        ("+0", 0, True),
    ],
)
def test_time_spellings(text: str, ns: int, relative: bool) -> None:
    point = parse_time("--start", text)
    assert (point.ns, point.relative, point.text) == (ns, relative, text)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--start", "ten"], "--start 'ten' is not a time: give integer nanoseconds"),
        (["--end", "+1,5"], "--end '+1,5' is not a time"),
        (["--start", "+"], "--start '+' is not a time"),
        (["--start", "2023-11-14T22:13:20"], "has no time zone"),
        (["--start", "+1.0000000001"], "has 10 decimals; nanoseconds are the finest"),
        (["--start", "+20", "--end", "+10"], "is not before --end +10"),
        (["--start", "+10", "--end", "+10"], "give a start earlier than the end"),
        (["--end", "1969-12-31T23:59:59Z"], "is before 1970"),
        # ISO 8601 allows a fraction of the hour or minute (22:13.5 is 22:13:30); read as a
        # fraction of a second it would be another instant, so only seconds may have one.
        *(
            (["--start", text], f"--start {text!r}: only the seconds may have a fraction")
            for text in (
                "2023-11-14T22:13.5Z",
                "2023-11-14T22.5Z",
                "2023-11-14T22:13:20Z.5",
                "2023-11-14T22:13:20+01:00.25",
                "2023-11-14T22:13:20.5+01:00:00.25",
                "2023-11-14.5T22:13:20Z",
            )
        ),
    ],
)
def test_bad_slices_are_one_line_exit_2(
    flags: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(capsys, "extract", BAGS / "gps-navsatfix.bag", tmp_path, *flags)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert says in lines[0]
    assert lines[0].startswith("processor: error: ")
    assert not (tmp_path / "gps-navsatfix").exists()


@pytest.mark.parametrize(
    ("flags", "side"),
    [
        (["--start", "+100"], "after"),  # a fleet's slice past a short bag's end
        (["--end", "10"], "before"),  # ns since the epoch, not seconds
        (["--start", "1970-01-01T00:00:00Z", "--end", "1970-01-02T00:00:00Z"], "before"),
        (["--start", str(2**63 - 2)], "after"),
    ],
)
def test_a_slice_outside_the_bag_is_an_empty_output_not_a_bad_bag(
    flags: list[str], side: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Review C #2: exit 2 here made the orchestrator quarantine (and move) every healthy
    bag shorter than a fleet-wide `--start +20`. The bag is fine; its slice is empty, and
    the warning names the bag's range and how a bare number is read."""
    bag = BAGS / "gps-navsatfix.bag"
    status, _, err = run_cli(capsys, "extract", bag, tmp_path, *flags)
    assert status == 0, err
    document = manifest(tmp_path / bag.stem)
    assert document["messages"] == 0 and document["topics"]
    for entry in document["topics"]:
        assert read_csv(tmp_path / bag.stem / entry["files"][0]) == []
    [note] = [n for n in document["notes"] if "lies wholly" in n]
    assert f"the slice lies wholly {side} the bag" in note
    assert re.search(r"runs from \d+ to \d+ ns \(\d+\.\d{3} s\)", note)
    assert "a bare number is nanoseconds since the epoch" in note
    assert f"warning: {note}" in err


def test_a_slice_after_a_latched_bag_keeps_its_last_state(
    latched_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Past the end, a subscriber would still have the latched state: the bag's last."""
    status, _, err = run_cli(capsys, "extract", latched_bag, tmp_path, "--start", "+100000")
    assert status == 0, err
    document = manifest(tmp_path / _name(latched_bag))
    latched = sum(t.get("before_start", 0) for t in document["topics"])
    assert latched > 0 and document["messages"] == latched
    assert any("lies wholly after the bag" in n for n in document["notes"])
    assert "only the latched state from before the start" in err


def test_an_empty_slice_inside_the_bag_warns_and_writes_empty_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """jackal-imu-odom.bag has messages every few ms: a 1 ns slice between two holds none."""
    bag = BAGS / "jackal-imu-odom.bag"
    with AnyReader([bag]) as reader:
        times = sorted(t for _, t, _ in reader.messages())
    gap = next(a for a, b in pairwise(times) if b - a > 2)
    flags = ["--start", str(gap + 1), "--end", str(gap + 2)]
    status, _, err = run_cli(capsys, "extract", bag, tmp_path, *flags)
    assert status == 0
    assert "warning: no message of the selected topics lies in the slice" in err
    document = manifest(tmp_path / bag.stem)
    assert document["messages"] == 0
    assert "no message of the selected topics lies in the slice" in " ".join(document["notes"])
    for entry in document["topics"]:
        assert read_csv(tmp_path / bag.stem / entry["files"][0]) == []


def test_an_unsliced_output_is_what_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No `start`/`end` in options, no `slice`, no `before_start`: as before slices."""
    assert run_cli(capsys, "extract", BAGS / "turtlesim.bag", tmp_path)[0] == 0
    document = manifest(tmp_path / "turtlesim")
    assert not {"start", "end"} & set(document["options"])
    assert "slice" not in document
    assert all("before_start" not in t for t in document["topics"])
    assert '"slice"' not in (tmp_path / "turtlesim" / "info.json").read_text()


def test_the_slice_is_part_of_the_options_a_merge_checks(
    latched_bag: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["extract", latched_bag, tmp_path]
    assert run_cli(capsys, *base, "--start", "+1", "--shard", "1/2")[0] == 0
    assert run_cli(capsys, *base, "--start", "+2", "--shard", "2/2")[0] == 0
    status, _, err = run_cli(capsys, "merge", latched_bag, tmp_path, "--shards", "2")
    assert status == 2
    assert "the parts disagree" in err


# --- reading less: bytes the process reads from files, full bag against a slice ---------


def _bytes_read() -> int:
    """What this process has read through read(2)/pread(2) so far (Linux /proc/self/io)."""
    text = Path("/proc/self/io").read_text()
    match = re.search(r"^rchar: (\d+)$", text, re.MULTILINE)
    assert match
    return int(match[1])


def _reading(bag: Path, out: Path, options: Options) -> int:
    before = _bytes_read()
    assert run.extract(bag, out, options=options) == 0
    return _bytes_read() - before


@pytest.fixture(scope="module", params=KINDS)
def drive(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 s of the synthetic drive (IMU, GNSS, camera, /tf, odometry): ~8 MB, many chunks."""
    kind = request.param
    folder = tmp_path_factory.mktemp(f"drive-{kind}")
    path = folder / ("drive.bag" if kind == "ros1" else "drive")
    write_drive(path, kind=kind, seconds=40, frame_size=(64, 48), compression=None)
    return path


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts bytes via /proc")
def test_a_slice_reads_a_fraction_of_the_bag(drive: Path, tmp_path: Path) -> None:
    """A 4 s slice of a 40 s drive reads under a quarter of what the whole bag does beyond
    opening it: the ROS 1 chunk index, the MCAP chunk index and sqlite's timestamp index
    skip the rest. Opening costs the same either way; on ROS 1 and MCAP it is small enough
    that the slice reads under a quarter in all. rosbags opens an sqlite3 file by counting
    each topic's messages (`count(messages.id) ... GROUP BY topics.id`, a scan of the table's
    pages, which hold every message under about 4 KB whole), which no slice can skip."""
    csv = Options("csv")
    # Imports and caches on every topic's path first: they are not what is compared.
    _reading(drive, tmp_path / "warm", Options("csv", start="+1", end="+2"))
    before = _bytes_read()
    with open_bag(drive):
        pass
    opening = _bytes_read() - before
    whole = _reading(drive, tmp_path / "whole", csv)
    part = _reading(drive, tmp_path / "part", Options("csv", start="+18", end="+22"))
    assert whole > 0.9 * sum(f.stat().st_size for f in _files(drive))
    print(f"bytes read: whole {whole}, 4 s slice {part}, opening {opening}")
    assert part - opening < (whole - opening) / 4, (part, whole, opening)
    if not (drive / "metadata.yaml").exists() or next(drive.glob("*.mcap"), None):
        assert part < whole / 4, (part, whole)


def _files(bag: Path) -> Iterator[Path]:
    return iter(sorted(bag.iterdir())) if bag.is_dir() else iter([bag])


def test_the_benchmark_slices_the_middle_of_the_bag() -> None:
    """scripts/bench_processor.py times `seconds` around the middle, relative to the start."""
    from scripts.bench_processor import Measurement, _slice_ratio, slice_flags

    bag = BAGS / "jackal-imu-odom.bag"
    with AnyReader([bag]) as reader:
        duration = (reader.end_time - reader.start_time) / S
    flags = slice_flags(bag, 10)
    begin, end = float(flags[1]), float(flags[3])
    assert flags[0::2] == ["--start", "--end"]
    assert flags[1].startswith("+")
    assert end - begin == pytest.approx(10, abs=1e-3)
    assert begin == pytest.approx((duration - 10) / 2, abs=2e-3)
    full = Measurement("processor (csv)", 40.0, 10.0, 200.0, ok=True)
    part = Measurement("processor 10 s slice (csv)", 2.0, 0.8, 150.0, ok=True)
    assert _slice_ratio(full, part).startswith(
        "processor 10 s slice (csv) / processor (csv): 0.050"
    )


def test_a_bag_without_messages_gives_its_empty_output_whatever_the_slice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "silent.bag"
    with Writer1(bag) as writer:
        writer.add_connection(
            "/a", "std_msgs/msg/String", typestore=get_typestore(Stores.ROS1_NOETIC)
        )
    status, _, err = run_cli(capsys, "extract", bag, tmp_path / "out", "--start", "+5")
    assert status == 0, err
    document = manifest(tmp_path / "out" / "silent")
    assert document["slice"] == {"start": "+5", "end": None, "start_ns": None, "end_ns": None}
    assert "no message of the selected topics lies in the slice" in err


def test_unreadable_latched_state_is_a_bad_bag(
    latched_bag: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def damaged(*_: object) -> None:
        raise ValueError("chunk CRC mismatch")

    monkeypatch.setattr(run, "state_before", damaged)
    status, _, err = run_cli(capsys, "extract", latched_bag, tmp_path, "--start", "+10")
    assert status == 2
    assert err.strip().splitlines() == [
        f"processor: error: {latched_bag}: the bag is damaged and its latched state before "
        "--start cannot be read (chunk CRC mismatch)"
    ]


@pytest.mark.parametrize(
    "end", ["99999999999999999999", "+99999999999.5", "9999-12-31T23:59:59.999999999Z"]
)
@pytest.mark.parametrize("bag", ["ros2-sqlite3-custom", "ros2-mcap-basic", "gps-navsatfix.bag"])
def test_an_end_beyond_int64_nanoseconds_covers_the_rest_of_the_bag(
    bag: str, end: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No log time is beyond int64 nanoseconds: such an end is the bag's end, whatever the
    storage (sqlite3 compares log times as int64)."""
    path = BAGS / bag
    status, _, err = run_cli(capsys, "extract", path, tmp_path / "whole")
    assert status == 0, err
    status, _, err = run_cli(capsys, "extract", path, tmp_path / "sliced", "--end", end)
    assert status == 0, err
    name = path.name.removesuffix(".bag")
    whole, sliced = manifest(tmp_path / "whole" / name), manifest(tmp_path / "sliced" / name)
    assert sliced["messages"] == whole["messages"] > 0
    assert sliced["slice"]["end_ns"] == 2**63 - 1


def test_an_empty_slice_with_latched_state_says_only_that_state_is_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """turtlesim.bag's /tf_static is latched: a 1 ns slice between two messages holds no
    message of its own, but the state from before the start is written, and the warning
    must not say the tables are empty."""
    bag = BAGS / "turtlesim.bag"
    with AnyReader([bag]) as reader:
        times = sorted(t for _, t, _ in reader.messages())
    gap = next(a for a, b in pairwise(times) if b - a > 2 and a > times[0] + S)
    flags = ["--start", str(gap + 1), "--end", str(gap + 2)]
    status, _, err = run_cli(capsys, "extract", bag, tmp_path, *flags)
    assert status == 0, err
    document = manifest(tmp_path / "turtlesim")
    latched = sum(t.get("before_start", 0) for t in document["topics"])
    assert latched > 0 and document["messages"] == latched
    [note] = [n for n in document["notes"] if "lies in the slice" in n]
    assert "empty" not in note and "only the latched state from before the start" in note
    assert f"warning: {note}" in err
