"""The processor options the orchestrator passes through (issue 13): the command line and
activity.json in, every task's processor command line and the freshness record out."""

from __future__ import annotations

import json
import shlex
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from orchestrator import freshness, passthrough
from orchestrator.cli import _parser, main
from orchestrator.discovery import find_bags
from orchestrator.executors.batch_tasks import command_line
from orchestrator.passthrough import OptionsError, ProcessorOptions, settle
from orchestrator.plan import PlanOptions, TaskKind, build_plan
from tests.orchestrator.fake_batch import FakeBatchService, FakeCredential
from tests.orchestrator.helpers import (
    copy_bags,
    fake_processor_environment,
    touch_bags,
    write_activity,
)
from tests.orchestrator.test_batch_executor import FAST, client_options, outputs


def cli(*argv: str) -> ProcessorOptions:
    return settle(_parser().parse_args(["extract", *argv]))


def test_no_option_passes_nothing_and_records_the_processors_defaults() -> None:
    options = cli()
    assert options.processor_args() == ()
    # As processor/manifest.py options_record writes it: no slice, no sync record.
    assert options.record() == {
        "start": None,
        "end": None,
        "sync": None,
        "point_clouds": "parquet",
        "video": False,
    }


def test_every_option_reaches_the_processor_as_given() -> None:
    options = cli(
        "--start", "+5", "--end", "2026-12-02T10:00:00+01:00", "--sync", "/camera",
        "--with", "imu", "/gps fix", "--sync-tolerance", "0.05", "--sync-method", "last-before",
        "--sync-clock", "header", "--point-clouds", "pcd", "--video",
    )  # fmt: skip
    # A single value is one `--flag=value` word: a value beginning with '-' stays a value.
    assert options.processor_args() == (
        "--start=+5",
        "--end=2026-12-02T10:00:00+01:00",
        "--sync=/camera",
        "--with",
        "imu",
        "/gps fix",
        "--sync-tolerance=0.05",
        "--sync-method=last-before",
        "--sync-clock=header",
        "--point-clouds=pcd",
        "--video",
    )
    # Recorded as the processor records it: topics slashed, the tolerance in whole ns.
    assert options.record()["sync"] == {
        "reference": "/camera",
        "with": ["/imu", "/gps fix"],
        "tolerance_ns": 50_000_000,
        "method": "last-before",
        "clock": "header",
    }
    assert options.record()["start"] == "+5"


def test_slices_of_either_kind_pass() -> None:
    # Relative and absolute cannot be ordered before the bag is read: the processor does it.
    options = cli("--start", "+30", "--end", "2026-12-02T10:00:00.25+01:00")
    assert options.processor_args() == ("--start=+30", "--end=2026-12-02T10:00:00.25+01:00")
    assert cli("--start", "1700000000000000000", "--end", "+.5").processor_args()[0] == (
        "--start=1700000000000000000"
    )


def test_sync_topics_must_be_among_the_topics_extracted() -> None:
    args = _parser().parse_args(
        ["extract", "--topics", "/camera", "--sync", "camera", "--with", "/imu"]
    )
    with pytest.raises(OptionsError, match="sync topic\\(s\\) /imu not among --topics"):
        settle(args, None, args.topics)


def test_a_default_choice_is_not_passed() -> None:
    assert cli("--point-clouds", "parquet", "--sync-method", "nearest").processor_args() == ()


def test_every_problem_is_named_in_one_line() -> None:
    with pytest.raises(OptionsError) as error:
        cli("--with", "/imu", "--sync-tolerance", "soon", "--sync-clock", "header")
    message = str(error.value)
    assert "\n" not in message
    assert "--sync-tolerance 'soon' is not a number" in message
    assert "--with needs --sync" in message
    assert "--sync-clock needs --sync" in message


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sync", "/camera"], "--sync needs --with"),
        (["--sync", "/camera", "--with=-imu"], "--with -imu: a topic does not begin with '-'"),
        (["--sync", "/c", "--with", "/i", "--sync-tolerance", "-1"], "must be a number of 0"),
        (["--sync", "/c", "--with", "/i", "--sync-tolerance", "inf"], "must be a number of 0"),
        # The processor refuses these with exit 2 (processor/options.py tolerance_ns): the
        # orchestrator must refuse them before any task, not quarantine every bag for them.
        (["--sync", "/c", "--with", "/i", "--sync-tolerance", "\u0661"], "in ASCII digits"),
        (["--sync", "/c", "--with", "/i", "--sync-tolerance", "1e99999999"], "int64 nanoseconds"),
        (["--sync", "/c", "--with", "/i", "--sync-tolerance", "9223372037"], "int64 nanoseconds"),
        (["--start", " "], "--start is empty"),
        (["--start", "10s"], "--start '10s' is not a time: give ns since the epoch"),
        (["--end", "2026-12-02T10:00:00"], "--end '2026-12-02T10:00:00' is not a time"),
        (["--start", "+10", "--end", "+2.5"], "--start \\+10 is not before --end \\+2.5"),
        (
            ["--start", "2026-12-02T10:00:00Z", "--end", "1764669600000000000"],
            "is not before --end 1764669600000000000",
        ),
        (["--sync", "/a", "--with", "/b", "a"], "--with /a: that is the sync topic itself"),
    ],
)
def test_options_that_cannot_work_are_refused(argv: list[str], message: str) -> None:
    with pytest.raises(OptionsError, match=message):
        cli(*argv)


def test_the_orchestrator_exits_2_before_any_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    touch_bags(tmp_path / "in", ["a.bag"])
    assert main(["extract", "--input", "in", "--output", "out", "--with", "/imu"]) == 2
    printed = capsys.readouterr()
    assert printed.err.strip().splitlines() == [
        'error: --with needs --sync: see docs/orchestrator.md "Processor options"'
    ]
    assert not (tmp_path / "out").exists()


def test_activity_values_are_read_as_adf_writes_them() -> None:
    options = settle(
        None,
        {
            "sliceStart": "10",
            "sliceEnd": "",
            "syncReference": "/camera",
            "syncWith": "/imu, /gps,,",
            "syncTolerance": "",
            "syncMethod": "",
            "syncClock": "header",
            "pointClouds": "parquet",
            "video": "True",  # ADF's string() of a boolean
        },
    )
    assert options.processor_args() == (
        "--start=10",
        "--sync=/camera",
        "--with",
        "/imu",
        "/gps",
        "--sync-clock=header",
        "--video",
    )
    assert settle(None, {"video": "False", "pointClouds": "parquet"}).processor_args() == ()


def test_activity_problems_name_the_pipeline_parameters() -> None:
    with pytest.raises(OptionsError) as error:
        settle(None, {"syncWith": "/imu", "video": "yes", "pointClouds": "ply"})
    message = str(error.value)
    assert "video 'yes' is not true or false" in message
    assert "pointClouds 'ply' is not one of parquet, pcd" in message
    assert "syncWith needs syncReference" in message


def test_the_command_line_wins_over_the_activity() -> None:
    args = _parser().parse_args(["extract", "--start", "3"])
    options = settle(args, {"sliceStart": "10", "sliceEnd": "20"})
    assert options.processor_args() == ("--start=3", "--end=20")


def test_every_task_of_a_sharded_bag_gets_the_options_but_the_merge(tmp_path: Path) -> None:
    touch_bags(tmp_path / "raw", ["big.bag"], size=100)
    bags = find_bags(tmp_path, PurePosixPath("raw"))
    options = PlanOptions(shard_size_bytes=40, processor=cli("--start", "5", "--video"))
    plan = build_plan("job", PurePosixPath("raw"), PurePosixPath("out"), bags, options)
    assert len(plan.tasks) == 4
    for task in plan.tasks:
        args = task.processor_args("/data")
        if task.kind is TaskKind.SHARD:
            assert args[-4:-2] == ["--start=5", "--video"], args
        else:  # the merge reads the options from its parts' manifests
            assert task.kind is TaskKind.MERGE and "--video" not in args


def test_batch_command_lines_quote_user_values(tmp_path: Path) -> None:
    hostile = "/cam'; rm -rf / #"
    options = PlanOptions(processor=cli("--sync", hostile, "--with", "$HOME", "/a b"))
    touch_bags(tmp_path / "raw", ["a.bag"])
    bags = find_bags(tmp_path, PurePosixPath("raw"))
    [task] = build_plan("job", PurePosixPath("raw"), PurePosixPath("out"), bags, options).tasks
    line = command_line(task, "data")
    # Batch splits the line as a shell would, without running one (contracts §2).
    words = shlex.split(line)
    assert words[-4:] == [f"--sync={hostile}", "--with", "$HOME", "/a b"]


def test_a_fleet_synchronizes_the_bags_that_have_the_topics(tmp_path: Path) -> None:
    # A bag without the sync topics is not unreadable: it gets no sync table (processor
    # --missing-topics skip), it is not quarantined (newcomer review C, finding 1).
    options = PlanOptions(processor=cli("--sync", "/imu", "--with", "/odom"))
    touch_bags(tmp_path / "raw", ["a.bag"])
    bags = find_bags(tmp_path, PurePosixPath("raw"))
    [task] = build_plan("job", PurePosixPath("raw"), PurePosixPath("out"), bags, options).tasks
    args = task.processor_args("/data")
    assert args[args.index("--missing-topics") + 1] == "skip"
    [plain] = build_plan(
        "job", PurePosixPath("raw"), PurePosixPath("out"), bags, PlanOptions()
    ).tasks
    assert "--missing-topics" not in plain.processor_args("/data")


def test_a_fleet_slice_past_a_short_bags_end_quarantines_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Newcomer review C, finding 2: the real processor used to exit 2 for a slice wholly
    # outside a bag, so `--start +20` quarantined (moved) every bag shorter than 20 s.
    names = ["gps-navsatfix.bag", "turtlesim.bag"]
    raw = copy_bags(tmp_path / "raw", names)
    out = tmp_path / "out"
    argv = ["extract", "--input", str(raw), "--output", str(out), "--start", "+100000"]
    code = main([*argv, "--quarantine-to", str(tmp_path / "raw" / "quarantine")])
    shown = capsys.readouterr().out
    assert code == 0, shown
    assert sorted(p.name for p in raw.iterdir() if p.is_file()) == sorted(names)
    assert not (tmp_path / "raw" / "quarantine").exists()
    for name in names:
        document = json.loads((out / Path(name).stem / "manifest.json").read_text())
        assert any("lies wholly after the bag" in n for n in document["notes"])


# --- freshness ---------------------------------------------------------------------------


def manifest(folder: Path, options: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"options": options}), encoding="utf-8")
    return folder


BEFORE_ISSUE_13 = {
    "format": "csv",
    "topics": None,
    "column_names": "dotted",
    "processor_version": freshness.PROCESSOR_VERSION,
}


def test_a_manifest_written_before_the_options_existed_is_fresh_for_a_run_without_them(
    tmp_path: Path,
) -> None:
    folder = manifest(tmp_path / "bag", BEFORE_ISSUE_13)
    assert freshness.mismatch(folder, freshness.wanted_options("csv", [], "dotted", cli())) == ""


def test_a_run_with_an_option_extracts_an_older_output_again(tmp_path: Path) -> None:
    folder = manifest(tmp_path / "bag", BEFORE_ISSUE_13)
    wanted = freshness.wanted_options("csv", [], "dotted", cli("--start", "5", "--video"))
    assert freshness.mismatch(folder, wanted) == (
        "it was made with --start absent (this run: 5), --video absent (this run: on)"
    )


def test_an_output_made_with_other_options_is_extracted_again(tmp_path: Path) -> None:
    made = cli("--sync", "/camera", "--with", "/imu")
    folder = manifest(tmp_path / "bag", freshness.wanted_options("csv", [], "dotted", made))
    same = freshness.wanted_options("csv", [], "dotted", made)
    assert freshness.mismatch(folder, same) == ""
    other = cli("--sync", "/camera", "--with", "/imu", "/gps", "--point-clouds", "pcd")
    why = freshness.mismatch(folder, freshness.wanted_options("csv", [], "dotted", other))
    assert why == (
        "it was made with --sync with=/imu (this run: with=/imu /gps), "
        "--point-clouds parquet (this run: pcd)"
    )
    plain = freshness.mismatch(folder, freshness.wanted_options("csv", [], "dotted", cli()))
    assert plain == (
        "it was made with --sync reference=/camera with=/imu tolerance_ns=100000000 "
        "method=nearest clock=log (this run: absent)"
    )


def test_describe_names_the_options_given() -> None:
    wanted = freshness.wanted_options("csv", [], "dotted", cli("--end", "+9", "--video"))
    assert freshness.describe(wanted) == (
        f"format csv, all topics, dotted column names, --end +9, --video on, "
        f"processor {freshness.PROCESSOR_VERSION}"
    )


def test_a_local_run_with_other_options_extracts_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `python -m processor` is the fake processor (tests/orchestrator/fake_node).
    monkeypatch.setenv("PYTHONPATH", fake_processor_environment()["PYTHONPATH"])
    monkeypatch.chdir(tmp_path)
    touch_bags(tmp_path / "in", ["a.bag"])
    base = ["extract", "--input", "in", "--output", "out"]

    assert main([*base, "--start", "+1"]) == 0
    assert "every task's processor gets: --start=+1" in capsys.readouterr().out
    argv = json.loads((tmp_path / "out" / "a" / "argv.json").read_text(encoding="utf-8"))
    assert argv[-1] == "--start=+1"
    capsys.readouterr()
    assert main([*base, "--start", "+1"]) == 0
    assert "already extracted with these options" in capsys.readouterr().out
    assert main([*base, "--start", "+2"]) == 0
    assert "--start +1 (this run: +2)" in capsys.readouterr().out


# --- through the fake Batch service --------------------------------------------------------


def test_activity_options_reach_every_batch_task(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["a.bag", "b.bag"])
    write_activity(
        Path.cwd(),
        batchAccountEndpoint=fake_batch.url,
        sliceStart="2026-12-02T10:00:00Z",
        syncReference="/camera/image raw",
        syncWith="/imu,/gps",
        video="True",
        pointClouds="parquet",
    )

    code = main(
        ["extract", *FAST],
        credential=FakeCredential(),
        batch_client_options=client_options(fake_batch),
    )

    assert code == 0, outputs()
    lines = [task["commandLine"] for task in fake_batch.bodies["add_tasks"][0]["value"]]
    assert len(lines) == 2
    for line in lines:
        assert line.endswith(
            "--format csv --missing-topics skip --start=2026-12-02T10:00:00Z "
            "'--sync=/camera/image raw' "
            "--with /imu /gps --video"
        )
    for name in ("a", "b"):
        result = node / "extracted" / name
        recorded = json.loads((result / "manifest.json").read_text(encoding="utf-8"))["options"]
        assert recorded["sync"]["reference"] == "/camera/image raw"
        assert recorded["sync"]["with"] == ["/imu", "/gps"]
        assert recorded["start"] == "2026-12-02T10:00:00Z"
        assert recorded["video"] is True


def test_bad_activity_options_are_reported_to_adf(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["a.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url, syncWith="/imu")

    code = main(
        ["extract", *FAST],
        credential=FakeCredential(),
        batch_client_options=client_options(fake_batch),
    )

    assert code == 2
    document = outputs()
    assert document["succeeded"] is False
    assert "syncWith needs syncReference" in document["message"]
    assert fake_batch.requests.get("create_job", 0) == 0


def test_the_table_names_each_option_once() -> None:
    for attribute in ("flag", "parameter", "record_key", "column"):
        values = [getattr(row, attribute) for row in passthrough.TABLE]
        assert len(set(values)) == len(values), attribute
