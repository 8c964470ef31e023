"""What a newcomer meets on the command line (issue 15): every skip named where people
look, options recorded so a re-run can tell, lineage, and the rough edges of the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from processor import __version__
from tests.processor.helpers import BAGS, manifest, run_cli


def test_a_partial_output_names_its_skipped_topics_and_why_on_stderr_and_in_info(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(capsys, "extract", BAGS / "empty-definition.bag", tmp_path)
    assert status == 3
    assert "PARTIAL" in err and "/led_array_status (14 messages)" in err
    assert "empty definition" in err  # the reason, not just a count
    folder = tmp_path / "empty-definition"
    info_txt = (folder / "info.txt").read_text()
    assert "skipped /led_array_status (14 messages)" in info_txt and "empty definition" in info_txt
    info = json.loads((folder / "info.json").read_text())
    assert any("/led_array_status" in line for line in info["problems"])


def test_a_complete_output_says_where_it_went(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run_cli(capsys, "extract", BAGS / "gps-navsatfix.bag", tmp_path)
    assert status == 0
    assert err.strip().splitlines()[-1] == (
        f"processor gps-navsatfix: complete: 1 table in {tmp_path / 'gps-navsatfix'}"
    )


def test_the_manifest_records_the_options_that_shaped_the_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "turtlesim.bag"
    run_cli(capsys, "extract", bag, tmp_path / "a", "--topics", "turtle1/pose", "/tf", "/tf")
    run_cli(capsys, "extract", bag, tmp_path / "b", "--format", "parquet")
    run_cli(capsys, "extract", bag, tmp_path / "c", "--column-names", "underscore")
    run_cli(capsys, "extract", bag, tmp_path / "d", "--video", "--point-clouds", "pcd")
    options = [manifest(tmp_path / x / "turtlesim")["options"] for x in "abcd"]
    assert options == [
        {
            "format": "csv",
            "topics": ["/tf", "/turtle1/pose"],  # as the bag names them, sorted, once each
            "column_names": "dotted",
            "video": False,
            "point_clouds": "parquet",
            "processor_version": __version__,
        },
        {
            "format": "parquet",
            "topics": None,
            "column_names": "dotted",
            "video": False,
            "point_clouds": "parquet",
            "processor_version": __version__,
        },
        {
            "format": "csv",
            "topics": None,
            "column_names": "underscore",
            "video": False,
            "point_clouds": "parquet",
            "processor_version": __version__,
        },
        {
            "format": "csv",
            "topics": None,
            "column_names": "dotted",
            "video": True,  # camera topics as MP4 (turtlesim has none: the output is the same)
            "point_clouds": "pcd",  # a bag without point clouds too: it names the options
            "processor_version": __version__,
        },
    ]


def test_lineage_the_data_lake_location_beside_the_local_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://lake.dfs.core.windows.net/data/raw/2026/gps-navsatfix.bag"
    bag = BAGS / "gps-navsatfix.bag"
    assert run_cli(capsys, "extract", bag, tmp_path, "--source-url", url)[0] == 0
    document = manifest(tmp_path / "gps-navsatfix")
    assert (document["source"], document["source_url"]) == (str(bag), url)
    assert run_cli(capsys, "extract", bag, tmp_path / "plain")[0] == 0
    assert manifest(tmp_path / "plain" / "gps-navsatfix")["source_url"] is None


def test_underscore_column_names_need_no_quoting_in_spark_sql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "jackal-imu-odom.bag"
    args = ("--format", "parquet", "--column-names", "underscore")
    assert run_cli(capsys, "extract", bag, tmp_path, *args)[0] == 0
    names = pq.read_schema(tmp_path / "jackal-imu-odom" / "imu.data.parquet").names
    assert names[:6] == [
        "log_time_ns",
        "log_time",
        "header_seq",
        "header_stamp_sec",
        "header_stamp_nanosec",
        "header_frame_id",
    ]
    assert "orientation_covariance_8" in names and not [n for n in names if "." in n]


@pytest.mark.parametrize(
    "order",
    [
        ["--topics", "/turtle1/pose", "{bag}", "{out}"],
        ["--topics", "/turtle1/pose", "/tf", "{bag}", "{out}"],
        ["{bag}", "--topics", "/turtle1/pose", "{out}"],
        ["{bag}", "{out}", "--topics", "/turtle1/pose"],
    ],
)
def test_topics_before_or_between_the_positional_arguments(
    order: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.format(bag=BAGS / "turtlesim.bag", out=tmp_path) for a in order]
    status, _, err = run_cli(capsys, "extract", *args)
    assert status == 0, err
    assert "/turtle1/pose" in {t["topic"] for t in manifest(tmp_path / "turtlesim")["topics"]}


def test_topics_with_nothing_after_them_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(capsys, "extract", "--topics", BAGS / "turtlesim.bag", tmp_path)
    assert exit_info.value.code == 2
    assert "--topics needs at least one topic" in capsys.readouterr().err


def test_shards_say_where_their_part_went_and_merge_says_what_it_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "turtlesim.bag"
    status, _, err = run_cli(capsys, "extract", bag, tmp_path, "--shard", "1/2")
    assert status == 0
    part = tmp_path / ".turtlesim.shards" / "1-of-2"
    assert f"part written to {part}" in err and f"merge {bag} {tmp_path} --shards 2" in err
    assert run_cli(capsys, "extract", bag, tmp_path, "--shard", "2/2")[0] == 0
    status, _, err = run_cli(capsys, "merge", bag, tmp_path, "--shards", "2")
    assert status == 0
    assert err.strip() == (
        f"processor turtlesim: merged 2 shards: complete: 9 tables in {tmp_path / 'turtlesim'}"
    )


def test_one_message_is_not_one_msgs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, text, _ = run_cli(capsys, "info", BAGS / "ros2-mcap-basic")
    assert status == 0
    assert "1 msgs" not in text and "1 msg " in text
    status, _, err = run_cli(
        capsys, "extract", BAGS / "turtlesim.bag", tmp_path, "--topics", "/tf_static"
    )
    assert status == 0 and "read 1 message in" in err


def test_a_broken_bag_error_shows_no_python_tuple(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.bag"
    cut.write_bytes((BAGS / "turtlesim.bag").read_bytes()[:100])
    status, _, err = run_cli(capsys, "extract", cut, tmp_path / "out")
    assert status == 2
    assert "('" not in err and "',)" not in err
    assert "Header could not be read from file." in err


def test_with_topics_info_lists_only_their_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "turtlesim.bag"
    assert run_cli(capsys, "extract", bag, tmp_path, "--topics", "/turtle1/pose")[0] == 0
    info = json.loads((tmp_path / "turtlesim" / "info.json").read_text())
    assert [t["msgtype"] for t in info["types"]] == ["turtlesim/msg/Pose"]
    assert "tf/msg/tfMessage" not in (tmp_path / "turtlesim" / "info.txt").read_text()


def test_with_topics_info_says_a_selection_was_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Second newcomer: info.txt said 3061 messages for a 6121-message bag, with no word that
    only /imu/data had been asked for."""
    bag = BAGS / "jackal-imu-odom.bag"
    assert run_cli(capsys, "extract", "--topics", "imu/data", bag, tmp_path)[0] == 0
    info_txt = (tmp_path / "jackal-imu-odom" / "info.txt").read_text()
    assert "selection:   1 of 2 topics (--topics /imu/data)" in info_txt.splitlines()
    info = json.loads((tmp_path / "jackal-imu-odom" / "info.json").read_text())
    assert info["selection"] == {"topics": ["/imu/data"], "of": 2}
    whole = tmp_path / "whole"
    assert run_cli(capsys, "extract", bag, whole)[0] == 0
    assert "selection" not in (whole / "jackal-imu-odom" / "info.txt").read_text()
    assert json.loads((whole / "jackal-imu-odom" / "info.json").read_text())["selection"] is None


def test_info_continuation_lines_line_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "extract", BAGS / "camera-drive.bag", tmp_path)[0] == 0
    lines = (tmp_path / "camera-drive" / "info.txt").read_text().splitlines()
    # Every value starts in column 13, the first line of a list and its continuation lines alike.
    assert all(len(line) > 13 and line[12] == " " and line[13] != " " for line in lines), lines
