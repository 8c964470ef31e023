"""Every real bag: counts and every field value against a direct rosbags read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from processor.names import topic_stem
from tests.processor.helpers import (
    BAGS,
    DECODABLE_BAGS,
    assert_cell,
    direct_messages,
    files_under,
    iso_time,
    manifest,
    plain,
    provenance_counts,
    read_csv,
    resolve,
    run_cli,
)


def _name(bag: str) -> str:
    return bag.removesuffix(".bag")


@pytest.mark.parametrize("bag", DECODABLE_BAGS)
def test_csv_matches_a_direct_rosbags_read(
    bag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run_cli(capsys, "extract", BAGS / bag, tmp_path)
    assert status == 0
    folder = tmp_path / _name(bag)
    expected = direct_messages(BAGS / bag)
    # PROVENANCE.md's counts hold only because the direct read confirms them.
    assert {t: len(m) for t, m in expected.items()} == provenance_counts()[bag]
    document = manifest(folder)
    assert document["skipped"] == []
    assert {t["topic"]: t["messages"] for t in document["topics"]} == {
        t: len(m) for t, m in expected.items()
    }
    assert (folder / "_SUCCESS").is_file()
    for topic, messages in expected.items():
        rows = read_csv(folder / f"{topic_stem(topic)}.csv")
        assert len(rows) == len(messages)
        for row, (timestamp, message) in zip(rows, messages, strict=True):
            assert int(row.pop("log_time_ns")) == timestamp
            assert row.pop("log_time") == iso_time(timestamp)
            for column, cell in row.items():
                assert_cell(cell, resolve(message, column), f"{topic} {column} @{timestamp}")


@pytest.mark.parametrize("bag", ["custom-arrays.bag", "turtlesim.bag", "ros2-sqlite3-custom"])
def test_parquet_matches_a_direct_rosbags_read(
    bag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, _ = run_cli(capsys, "extract", BAGS / bag, tmp_path, "--format", "parquet")
    assert status == 0
    folder = tmp_path / _name(bag)
    assert manifest(folder)["format"] == "parquet"
    for topic, messages in direct_messages(BAGS / bag).items():
        table = pq.read_table(folder / f"{topic_stem(topic)}.parquet")
        times = [timestamp for timestamp, _ in messages]
        assert table.column("log_time").cast(pa.int64()).to_pylist() == times
        rows = table.drop_columns(["log_time"]).to_pylist()
        assert len(rows) == len(messages)
        for row, (timestamp, message) in zip(rows, messages, strict=True):
            assert row.pop("log_time_ns") == timestamp
            for column, value in row.items():
                assert value == plain(resolve(message, column)), f"{topic} {column}"


def test_info_reports_counts_types_and_rates(capsys: pytest.CaptureFixture[str]) -> None:
    status, text, _ = run_cli(capsys, "info", BAGS / "jackal-imu-odom.bag")
    assert status == 0
    assert "compression: bz2 [5/5 chunks]" in text
    assert "/imu/data" in text and "3061 msgs @ 50 Hz : sensor_msgs/msg/Imu" in text
    status, text, _ = run_cli(capsys, "info", BAGS / "ros2-mcap-basic", "--json")
    import json

    document = json.loads(text)
    assert document["kind"] == "ROS 2 bag (mcap)"
    assert {t["topic"]: t["messages"] for t in document["topics"]} == {
        "/one_shot/string": 1,
        "/one_shot/twist": 1,
        "/one_shot/vector3": 1,
    }


@pytest.mark.parametrize(
    "storage", ["ros2-sqlite3-custom/cdr_test_0.db3", "ros2-mcap-basic/base_msgs_0.mcap"]
)
def test_bare_storage_file_gives_the_folder_output(
    storage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder_bag = BAGS / storage.split("/")[0]
    bare = tmp_path / "in" / Path(storage).name
    bare.parent.mkdir()
    shutil.copy(BAGS / storage, bare)
    assert run_cli(capsys, "extract", folder_bag, tmp_path / "a")[0] == 0
    assert run_cli(capsys, "extract", bare, tmp_path / "b")[0] == 0
    from_folder = tmp_path / "a" / folder_bag.name
    from_file = tmp_path / "b" / bare.stem
    tables = sorted(p.name for p in from_folder.glob("*.csv"))
    assert tables and tables == sorted(p.name for p in from_file.glob("*.csv"))
    for name in tables:
        assert (from_folder / name).read_bytes() == (from_file / name).read_bytes()


def test_input_is_never_written_to(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bag = tmp_path / "raw" / "ros2-sqlite3-custom"
    shutil.copytree(BAGS / "ros2-sqlite3-custom", bag)
    before = {p: p.stat().st_mtime_ns for p in files_under(bag.parent)}
    assert run_cli(capsys, "extract", bag, tmp_path / "out")[0] == 0
    assert {p: p.stat().st_mtime_ns for p in files_under(bag.parent)} == before  # no -wal/-shm


def test_refuses_an_outdir_that_would_replace_the_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "ros2-mcap-basic"
    shutil.copytree(BAGS / "ros2-mcap-basic", bag)
    status, _, err = run_cli(capsys, "extract", bag, tmp_path)
    assert status == 2
    assert "would replace the input bag" in err
    assert (bag / "base_msgs_0.mcap").is_file()


def test_topics_with_or_without_leading_slash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "turtlesim.bag"
    status, _, _ = run_cli(capsys, "extract", bag, tmp_path, "--topics", "turtle1/pose", "/tf")
    assert status == 0
    document = manifest(tmp_path / "turtlesim")
    assert sorted(t["topic"] for t in document["topics"]) == ["/tf", "/turtle1/pose"]
    assert document["selection"] == ["/tf", "turtle1/pose"]
    status, _, err = run_cli(capsys, "extract", bag, tmp_path, "--topics", "/nope")
    assert status == 2
    assert "/nope" in err and "/turtle1/pose" in err and len(err.strip().splitlines()) == 1
