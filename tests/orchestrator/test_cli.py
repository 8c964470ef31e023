"""The command line: the launcher, self-check, usage errors, telemetry that never crashes a run."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from orchestrator import telemetry
from orchestrator.cli import main
from orchestrator.discovery import Bag
from orchestrator.executors import Execution
from orchestrator.outcome import OutputCounts, TaskOutcome
from orchestrator.plan import PlanOptions, build_plan
from orchestrator.report import bag_results
from tests.orchestrator.fake_batch import FakeBatchService, FakeCredential
from tests.orchestrator.helpers import REPO, touch_bags, write_activity
from tests.orchestrator.test_batch_executor import outputs, run_activity

LAUNCHER = REPO / "apps" / "orchestrator" / "run-orchestrator"


def test_launcher_runs_the_package_beside_it_with_all_arguments(tmp_path: Path) -> None:
    package = tmp_path / "package dir"
    module = package / "site-packages" / "orchestrator"
    module.mkdir(parents=True)
    (module / "__init__.py").write_text("", encoding="utf-8")
    (module / "__main__.py").write_text(
        "import sys; print('packaged orchestrator', sys.argv[1:])", encoding="utf-8"
    )
    shutil.copy2(LAUNCHER, package / "run-orchestrator")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)

    run = subprocess.run(
        [str(package / "run-orchestrator"), "extract", "--executor", "batch"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": ""},
        check=False,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "packaged orchestrator ['extract', '--executor', 'batch']"


def test_self_check_reports_python_and_sdk_versions() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "orchestrator", "self-check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0
    assert run.stdout.startswith(f"orchestrator self-check ok: Python {sys.version.split()[0]}")
    assert "azure-batch 15." in run.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["extract", "--input", "x"], "--input and --output are required"),
        (["extract", "--input", "nowhere", "--output", "out"], "does not exist"),
        (["extract", "--input", "in/a.bag", "--output", "."], "must not contain --input"),
        (["extract", "--input", "in", "--output", "out", "--executor", "batch"], "activity.json"),
        (
            ["extract", "--input", "in", "--output", "out", "--shard-size-gb", "0"],
            "--shard-size-gb must be a positive number of GiB",
        ),
        (
            ["extract", "--input", "in", "--output", "/proc/x"],
            "--output /proc/x: cannot create this folder",
        ),
        (
            ["extract", "--input", "in", "--output", "in/a.bag/out"],
            "--output in/a.bag/out: cannot create this folder",
        ),
        (["extract", "--input", "in", "--output", "out", "--timeout", "0"], "--timeout must"),
    ],
)
def test_usage_errors_exit_2_with_the_fix(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    touch_bags(tmp_path / "in", ["a.bag"])
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_an_output_that_cannot_be_made_is_one_line_before_any_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    touch_bags(tmp_path / "in", ["a.bag"])
    assert main(["extract", "--input", "in", "--output", "/proc/x"]) == 2
    printed = capsys.readouterr()
    assert printed.err.strip().splitlines() == [
        "error: --output /proc/x: cannot create this folder (No such file or directory): "
        "choose a folder you can write to"
    ]
    assert "task" not in printed.out


@pytest.mark.parametrize("workers", ["0", "-5", "two"])
def test_workers_must_be_a_positive_whole_number(
    workers: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["extract", "--input", "in", "--output", "out", "--workers", workers])
    assert exit_.value.code == 2
    assert f"--workers: {workers!r} is not a positive whole number" in capsys.readouterr().err


def test_batch_run_refuses_a_node_without_the_mount(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(tmp_path / "fsmounts"))
    write_activity(tmp_path)
    assert main(["extract"], credential=FakeCredential()) == 2
    assert "data lake mount" in capsys.readouterr().err


def test_unreachable_key_vault_only_costs_telemetry(caplog: pytest.LogCaptureFixture) -> None:
    value = telemetry.connection_string_from_key_vault(
        "https://127.0.0.1:9", "appinsights", FakeCredential(), retry_total=0
    )
    assert value is None
    assert "no Application Insights" in caplog.text


def test_bad_connection_string_only_costs_telemetry(caplog: pytest.LogCaptureFixture) -> None:
    assert telemetry.enable_azure_monitor("not a connection string") is False
    assert telemetry.enable_azure_monitor(None) is False
    assert "Application Insights unavailable" in caplog.text


def test_the_connection_string_stays_out_of_the_tasks(
    fake_batch: FakeBatchService, node: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What parses untrusted bags holds the least: the processor sends no telemetry, so its
    # tasks get no connection string (which lets anyone send telemetry as this application).
    enabled: list[Any] = []
    monkeypatch.setattr(telemetry, "enable_azure_monitor", enabled.append)
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=abc")
    touch_bags(node / "raw", ["a.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    code = main(
        ["extract", "--poll-seconds", "0.05"],
        credential=FakeCredential(),
        batch_client_options={"connection_verify": fake_batch.ca_file},
    )

    assert code == 0
    assert enabled == ["InstrumentationKey=abc"]  # the orchestrator itself reports
    [task] = fake_batch.bodies["add_tasks"][0]["value"]
    assert "InstrumentationKey" not in json.dumps(task)


def test_live_metrics_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    # azure-monitor-opentelemetry turns live metrics on by default (its
    # _utils/configurations.py _default_enable_live_metrics); an 11-hour run would hold a
    # QuickPulse connection open all along for nobody.
    calls: list[dict[str, Any]] = []
    import azure.monitor.opentelemetry as distro

    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **kwargs: calls.append(kwargs))
    assert telemetry.enable_azure_monitor("InstrumentationKey=abc") is True
    [options] = calls
    assert options["enable_live_metrics"] is False
    assert options["connection_string"] == "InstrumentationKey=abc"


def test_each_bag_becomes_a_span_with_its_tasks_and_counts_metrics() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[reader])
    plan = build_plan(
        "job", PurePosixPath("raw"), PurePosixPath("extracted"),
        [Bag(PurePosixPath("raw/a.bag"), 10, PurePosixPath()),
         Bag(PurePosixPath("raw/bad.bag"), 10, PurePosixPath())],
        PlanOptions(),
    )  # fmt: skip
    start = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.UTC)
    a, bad = plan.bags
    outcomes = {
        a.final_task_id: TaskOutcome(
            a.final_task_id, 0, seconds=60.0, started=start,
            ended=start + datetime.timedelta(seconds=60),
        ),
        bad.final_task_id: TaskOutcome(
            bad.final_task_id, 2, seconds=5.0, started=start, retries=0,
            ended=start + datetime.timedelta(seconds=5), stderr_tail="error: bad header",
        ),
    }  # fmt: skip
    results = bag_results(
        plan, Execution("job", outcomes), lambda dirs: dict.fromkeys(dirs, OutputCounts(2, 600, 2))
    )

    telemetry.record_bags(
        plan, results, outcomes,
        tracer=tracer_provider.get_tracer("test"), meter=meter_provider.get_meter("test"),
    )  # fmt: skip

    finished = {span.name: span for span in spans.get_finished_spans()}
    bag_span = finished["bag raw/a.bag"]
    assert bag_span.attributes is not None
    assert bag_span.attributes["rosbag.status"] == "succeeded"
    assert bag_span.attributes["rosbag.messages"] == 600
    assert bag_span.end_time is not None and bag_span.start_time is not None
    assert (bag_span.end_time - bag_span.start_time) / 1e9 == 60.0  # the task's own times
    task_span = finished[f"task {a.final_task_id}"]
    assert task_span.parent is not None and bag_span.context is not None
    assert task_span.parent.span_id == bag_span.context.span_id
    assert not finished["bag raw/bad.bag"].status.is_ok
    data = reader.get_metrics_data()
    assert data is not None
    points = {
        (metric.name, tuple(sorted((point.attributes or {}).items()))): point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
    }
    assert points[("rosbag.bags", (("rosbag.status", "succeeded"),))].value == 1  # type: ignore[union-attr]
    assert points[("rosbag.bags", (("rosbag.status", "failed"),))].value == 1  # type: ignore[union-attr]
    assert points[("rosbag.messages", ())].value == 600  # type: ignore[union-attr]


def test_telemetry_that_fails_never_fails_the_run(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("exporter gone")

    plan = build_plan(
        "job", PurePosixPath("raw"), PurePosixPath("extracted"),
        [Bag(PurePosixPath("raw/a.bag"), 10, PurePosixPath())], PlanOptions(),
    )  # fmt: skip
    telemetry.record_bags(plan, [], {}, tracer=Broken(), meter=Broken())  # type: ignore[arg-type]
    assert "telemetry" in caplog.text


def test_an_event_blob_path_drops_the_container(fake_batch: FakeBatchService, node: Path) -> None:
    """ADF's @triggerBody().folderPath starts with the container (`data/raw/2026`): the run takes
    that one bag, and writes it where a sweep of raw/ would, then a sweep leaves it alone."""
    touch_bags(node / "raw", ["2026/a.bag", "b.bag"])
    write_activity(
        Path.cwd(),
        batchAccountEndpoint=fake_batch.url,
        dataLakeUrl="https://lake.blob.core.windows.net/data",
        bagPath="data/raw/2026/a.bag",
        runId="event-run-1",
    )

    assert run_activity(fake_batch) == 0

    document = outputs()
    assert [entry["bag"] for entry in document["results"]] == ["raw/2026/a.bag"]
    assert (node / "extracted" / "2026" / "a" / "_SUCCESS").is_file()
    assert not (node / "extracted" / "b").exists()
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url, runId="sweep-run-1")
    assert run_activity(fake_batch) == 0
    statuses = {entry["bag"]: entry["status"] for entry in outputs()["results"]}
    assert statuses == {"raw/2026/a.bag": "unchanged", "raw/b.bag": "succeeded"}
