"""The command line: the launcher, self-check, usage errors, telemetry that never crashes a run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from orchestrator import telemetry
from orchestrator.cli import main
from tests.orchestrator.fake_batch import FakeBatchService, FakeCredential
from tests.orchestrator.helpers import REPO, touch_bags, write_activity

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
        (["extract", "--input", "in", "--output", "out", "--shard-size-gb", "0"], "shard-size"),
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


def test_connection_string_reaches_the_processor_tasks(
    fake_batch: FakeBatchService, node: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    assert enabled == ["InstrumentationKey=abc"]
    [task] = fake_batch.bodies["add_tasks"][0]["value"]
    assert task["environmentSettings"] == [
        {"name": "APPLICATIONINSIGHTS_CONNECTION_STRING", "value": "InstrumentationKey=abc"}
    ]
