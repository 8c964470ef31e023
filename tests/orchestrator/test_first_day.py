"""Issue 15, the orchestrator's side: no silent wrong result.

"Already extracted" means "extracted with these options" (a re-run with another format, topic
selection or processor version extracts again and says why), a bag with skipped topics never
looks like a success, and bags a timeout kept from starting are `not started`.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

import processor
from orchestrator import freshness
from orchestrator.cli import main
from orchestrator.discovery import find_bags
from orchestrator.executors.local import LocalExecutor
from orchestrator.plan import PlanOptions, build_plan
from orchestrator.report import bag_results, counts_under, failure_notes, summary_table
from tests.orchestrator.fake_batch import FakeBatchService, FakeCredential
from tests.orchestrator.helpers import (
    FAKE_PROCESSOR,
    activity_document,
    copy_bags,
    touch_bags,
    write_activity,
)

SMALL_BAG = "magnetic-temperature.bag"  # 20 messages: a real extraction in well under a second


def manifest(result_dir: Path) -> dict[str, Any]:
    return json.loads((result_dir / "manifest.json").read_text(encoding="utf-8"))


def local(raw: Path, out: Path, *extra: str) -> int:
    return main(
        ["extract", "--executor", "local", "--input", str(raw), "--output", str(out), *extra]
    )


def test_the_orchestrator_expects_the_processor_it_ships_with() -> None:
    assert processor.__version__ == freshness.PROCESSOR_VERSION


def test_a_parquet_run_after_a_csv_run_extracts_again_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, out = copy_bags(tmp_path / "raw", [SMALL_BAG]), tmp_path / "out"
    assert local(raw, out) == 0
    capsys.readouterr()

    assert local(raw, out, "--format", "parquet") == 0

    printed = capsys.readouterr().out
    assert f"extracting raw/{SMALL_BAG} again: it was made with format csv (this run: parquet)" in (
        printed
    )
    result = out / "magnetic-temperature"
    assert manifest(result)["options"]["format"] == "parquet"
    assert any(result.glob("*.parquet")) and not any(result.glob("*.csv"))  # replaced whole
    assert "unchanged" not in printed


def test_a_run_with_other_topics_extracts_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, out = copy_bags(tmp_path / "raw", [SMALL_BAG]), tmp_path / "out"
    assert local(raw, out) == 0
    first = manifest(out / "magnetic-temperature")["topics"]
    topic = first[0]["topic"]
    capsys.readouterr()

    assert local(raw, out, "--topics", topic.lstrip("/")) == 0

    assert f"topics all (this run: {topic})" in capsys.readouterr().out
    again = manifest(out / "magnetic-temperature")
    assert again["options"]["topics"] == [topic]
    assert [entry["topic"] for entry in again["topics"]] == [topic]


def test_an_output_of_another_processor_version_is_extracted_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, out = copy_bags(tmp_path / "raw", [SMALL_BAG]), tmp_path / "out"
    assert local(raw, out) == 0
    result = out / "magnetic-temperature"
    old = manifest(result)
    old["options"]["processor_version"] = "0.1.9"
    (result / "manifest.json").write_text(json.dumps(old), encoding="utf-8")
    capsys.readouterr()

    assert local(raw, out) == 0

    assert f"processor 0.1.9 (this run: {freshness.PROCESSOR_VERSION})" in capsys.readouterr().out
    assert manifest(result)["options"]["processor_version"] == processor.__version__


def test_an_output_that_records_no_options_is_extracted_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, out = copy_bags(tmp_path / "raw", [SMALL_BAG]), tmp_path / "out"
    assert local(raw, out) == 0
    result = out / "magnetic-temperature"
    old = manifest(result)
    del old["options"]
    (result / "manifest.json").write_text(json.dumps(old), encoding="utf-8")
    capsys.readouterr()

    assert local(raw, out) == 0

    assert "it records no options" in capsys.readouterr().out
    assert "options" in manifest(result)


def test_the_same_options_change_nothing_and_the_run_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw, out = copy_bags(tmp_path / "raw", [SMALL_BAG]), tmp_path / "out"
    assert local(raw, out) == 0
    before = (out / "magnetic-temperature" / "manifest.json").stat().st_mtime_ns
    capsys.readouterr()

    assert local(raw, out) == 0

    printed = capsys.readouterr().out
    assert "all 1 bag already extracted with these options (format csv, all topics" in printed
    assert "--force extracts them again" in printed
    assert (out / "magnetic-temperature" / "manifest.json").stat().st_mtime_ns == before


def test_the_summary_names_the_skipped_topics_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = copy_bags(tmp_path / "raw", ["empty-definition.bag"])

    assert local(raw, tmp_path / "out") == 0  # partial is complete as described

    printed = capsys.readouterr().out
    row = next(line for line in printed.splitlines() if line.startswith("raw/empty-definition"))
    assert row.split()[1] == "partial"
    assert "partial raw/empty-definition.bag: 1 topic skipped (/led_array_status)" in printed
    assert "skipped /led_array_status: the bag stores an empty definition" in printed


def test_bags_a_timeout_kept_from_starting_are_not_started(tmp_path: Path) -> None:
    touch_bags(tmp_path / "raw", ["slow-1.bag", "slow-2.bag"])
    bags = find_bags(tmp_path, PurePosixPath("raw"))
    plan = build_plan("job", PurePosixPath("raw"), PurePosixPath("out"), bags, PlanOptions())
    runner = LocalExecutor(
        tmp_path,
        tmp_path / "logs",
        workers=1,
        timeout_seconds=0.5,
        processor_command=FAKE_PROCESSOR,
    )

    execution = runner.run(plan, lambda progress: None)
    results = bag_results(plan, execution, counts_under(tmp_path))

    assert [str(result.status) for result in results] == ["failed", "not started"]
    assert "NOT STARTED raw/slow-2.bag" in "\n".join(failure_notes(results))
    assert "not started" in summary_table(results, 1.0)


# --- the batch executor, as `ops run` drives it through ADF ---------------------------------


def run_activity(service: FakeBatchService, *extra: str) -> dict[str, Any]:
    code = main(
        ["extract", "--poll-seconds", "0.05", *extra],
        credential=FakeCredential(),
        batch_client_options={"connection_verify": service.ca_file, "retry_backoff_factor": 0.01},
    )
    assert code == 0
    return json.loads(Path("outputs.json").read_text(encoding="utf-8"))


def test_ops_run_format_parquet_after_a_csv_run_extracts_again(
    fake_batch: FakeBatchService, node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    touch_bags(node / "raw", ["a.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url, runId="run-csv")
    assert run_activity(fake_batch)["bags"]["succeeded"] == 1
    write_activity(
        Path.cwd(), batchAccountEndpoint=fake_batch.url, runId="run-parquet", format="parquet"
    )
    capsys.readouterr()

    document = run_activity(fake_batch)

    assert document["bags"]["succeeded"] == 1 and document["bags"]["unchanged"] == 0
    assert manifest(node / "extracted" / "a")["options"]["format"] == "parquet"
    assert "extracting raw/a.bag again: it was made with format csv" in capsys.readouterr().out


def test_outputs_json_names_a_partial_bags_skipped_topics(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["partial.bag", "bad.bag", "good.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    document = run_activity(fake_batch)

    entries = {entry["bag"]: entry for entry in document["results"]}
    assert document["results"][0]["bag"] == "raw/bad.bag"  # failures still come first
    partial = entries["raw/partial.bag"]
    assert partial["status"] == "partial"
    assert partial["reason"] == "1 topic skipped (/lost)"
    assert partial["skipped"] == [{"topic": "/lost", "reason": "type unknown"}]
    assert partial["skippedCount"] == 1
    assert "skipped" not in entries["raw/good.bag"]


def test_each_task_gets_its_bags_data_lake_url(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["2026/run 7.bag"])
    lake = "https://dlrosbag.blob.core.windows.net/data"
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url, dataLakeUrl=lake)

    run_activity(fake_batch)

    recorded = manifest(node / "extracted" / "2026" / "run 7")["source_url"]
    assert recorded == f"{lake}/raw/2026/run%207.bag"


def test_an_activity_without_a_data_lake_url_passes_none() -> None:
    properties = activity_document()["typeProperties"]["extendedProperties"]
    assert "dataLakeUrl" not in properties  # older pipelines: the setting is optional


def test_after_a_timeout_batch_bags_that_never_ran_are_not_started(
    fake_batch: FakeBatchService, node: Path
) -> None:
    # The fake service runs 4 tasks at once: the fifth slow bag is still queued at the timeout.
    touch_bags(node / "raw", [f"slow-{index}.bag" for index in range(1, 6)])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    document = run_activity(fake_batch, "--timeout", "0.02")

    assert document["timedOut"] is True
    assert document["bags"]["not started"] >= 1
    assert document["bags"]["not started"] + document["bags"]["failed"] == 5
    never = [entry for entry in document["results"] if entry["status"] == "not started"]
    assert never and all("before any task" in entry["reason"] for entry in never)


def test_a_fleet_run_extracts_the_listed_topics_each_bag_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Newcomer finding: `--topics` over mixed bags failed every bag lacking one of them."""
    raw = copy_bags(tmp_path / "raw", ["turtlesim.bag", SMALL_BAG])
    out = tmp_path / "out"

    assert local(raw, out, "--topics", "/turtle1/pose", "/no/such") == 0

    printed = capsys.readouterr()
    turtle = manifest(out / "turtlesim")
    assert [entry["topic"] for entry in turtle["topics"]] == ["/turtle1/pose"]
    assert turtle["absent_topics"] == ["/no/such"]
    assert turtle["status"] == "complete"
    assert manifest(out / "magnetic-temperature")["topics"] == []
    text = printed.out + printed.err
    assert "FAILED" not in text and " failed " not in text.split("seconds")[-1]
    assert f"raw/{SMALL_BAG}: none of the listed topics is in the bag (it has /" in text
    assert "/no/such is in no bag of this run (a typo?); the bags have: " in text
    assert "/turtle1/pose" in text.split("the bags have: ")[1]


def test_column_names_underscore_reaches_the_processor_and_its_freshness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Newcomer finding: the orchestrator had no --column-names (README: Spark-friendly names)."""
    raw, out = copy_bags(tmp_path / "raw", [SMALL_BAG]), tmp_path / "out"
    assert local(raw, out) == 0
    capsys.readouterr()

    assert local(raw, out, "--column-names", "underscore") == 0

    printed = capsys.readouterr().out
    assert "it was made with column names dotted (this run: underscore)" in printed
    result = out / "magnetic-temperature"
    assert manifest(result)["options"]["column_names"] == "underscore"
    header = next(result.glob("*.csv")).read_text(encoding="utf-8").splitlines()[0]
    assert "header_stamp_sec" in header and "header.stamp.sec" not in header

    assert local(raw, out, "--column-names", "underscore") == 0
    assert "underscore column names" in capsys.readouterr().out  # left as it is


def test_the_orchestrator_offers_the_processors_column_names() -> None:
    from orchestrator.plan import COLUMN_NAMES
    from processor.options import COLUMN_NAMES as PROCESSOR_COLUMN_NAMES

    assert COLUMN_NAMES == PROCESSOR_COLUMN_NAMES


def test_column_names_are_passed_to_every_extract() -> None:
    options = PlanOptions(column_names="underscore", shard_size_bytes=1)
    bags = find_bags(Path(__file__).parent.parent / "data" / "bags", PurePosixPath(SMALL_BAG))
    tasks = build_plan("job", PurePosixPath("raw"), PurePosixPath("out"), bags, options).tasks
    extracts = [task for task in tasks if task.args[0] == "extract"]
    assert extracts and all(
        task.args[task.args.index("--column-names") + 1] == "underscore" for task in extracts
    )


REPO_ROOT = Path(__file__).parent.parent.parent


def test_the_readme_gives_the_command_that_reruns_the_demo_and_skips_its_bags(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Newcomer finding: the README said a second run redoes nothing, but `make demo` starts
    with `rm -rf demo-output`. The README's command is the demo's orchestrator run."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    prefix = ".venv/bin/python -m orchestrator extract "
    [command] = [line for line in readme.splitlines() if line.startswith(prefix)]
    recipe = (REPO_ROOT / "Makefile").read_text(encoding="utf-8").split("\ndemo:")[1]
    demo = " ".join(recipe.split("$(PY) -m orchestrator extract ")[1].split("\n")[0:2])
    demo = demo.replace("\\", " ").replace("$(DEMO_DIR)", "demo-output")
    assert command.removeprefix(prefix).split() == demo.split()

    monkeypatch.chdir(tmp_path)
    copy_bags(tmp_path / "demo-output" / "raw", [SMALL_BAG])
    argv = command.removeprefix(".venv/bin/python -m orchestrator ").split()
    assert main(argv) == 0
    capsys.readouterr()
    assert main(argv) == 0
    assert "all 1 bag already extracted with these options" in capsys.readouterr().out
