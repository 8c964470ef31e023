"""infra/node_commands.py: the commands nodes really run, executed with bash against a fake node
layout."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from infra.node_commands import (
    LAUNCHER,
    app_package_env_var,
    orchestrator_command,
    start_task_command,
)


def run_bash(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # The command lines start with /bin/bash -c, exactly as Batch receives them.
    assert command.startswith("/bin/bash -c ")
    return subprocess.run(
        ["/bin/bash", "-c", command],
        env={"PATH": os.environ["PATH"], **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def fake_package(tmp_path: Path) -> Path:
    package = tmp_path / "apps" / "orchestrator"
    package.mkdir(parents=True)
    launcher = package / LAUNCHER
    launcher.write_text('#!/bin/bash\necho "launched with: $*"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IEXEC)
    return package


def test_env_var_replaces_dots_dashes_and_hashes_and_keeps_case() -> None:
    assert app_package_env_var("orchestrator", "1.2.0-3f#a") == (
        "AZ_BATCH_APP_PACKAGE_orchestrator_1_2_0_3f_a"
    )


@pytest.mark.parametrize(
    "case", [str.upper, str.lower, lambda s: s], ids=["upper", "lower", "as-is"]
)
def test_command_finds_the_package_variable_in_any_case(tmp_path: Path, case: object) -> None:
    package = fake_package(tmp_path)
    var = app_package_env_var("orchestrator", "0.1.0")
    name = case(var)  # type: ignore[operator]
    result = run_bash(
        orchestrator_command("orchestrator", "0.1.0", "extract", "--executor", "batch"),
        {name: str(package)},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "launched with: extract --executor batch"


def test_command_runs_a_launcher_that_lost_its_execute_bit(tmp_path: Path) -> None:
    package = fake_package(tmp_path)
    (package / LAUNCHER).chmod(0o644)  # a zip extraction that drops file modes
    result = run_bash(
        orchestrator_command("orchestrator", "0.1.0", "self-check"),
        {app_package_env_var("orchestrator", "0.1.0"): str(package)},
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "launched with: self-check"


def test_command_exits_3_naming_the_variable_when_the_package_is_missing(tmp_path: Path) -> None:
    result = run_bash(orchestrator_command("orchestrator", "0.1.0", "self-check"), {}, tmp_path)
    assert result.returncode == 3
    assert "AZ_BATCH_APP_PACKAGE_orchestrator_0_1_0 is not set" in result.stderr
    assert "version 0.1.0" in result.stderr


def test_start_task_prepares_the_mount_then_runs_the_self_check(tmp_path: Path) -> None:
    mounts = tmp_path / "fsmounts"
    (mounts / "data").mkdir(parents=True)
    (mounts / "data").chmod(0o750)  # what a new NFS container looks like
    # Folders uploaded through the Blob API arrive as 0750 too; the orchestrator (a non-admin
    # task) must still be able to list them to find the bags.
    (mounts / "data" / "raw" / "drive-7" / "day-2").mkdir(parents=True)
    (mounts / "data" / "raw" / "drive-7").chmod(0o750)
    (mounts / "data" / "raw" / "drive-7" / "day-2").chmod(0o700)
    package = fake_package(tmp_path)
    command = start_task_command(
        "data", then=orchestrator_command("orchestrator", "0.1.0", "self-check")
    )
    result = run_bash(
        command,
        {
            "AZ_BATCH_NODE_MOUNTS_DIR": str(mounts),
            app_package_env_var("orchestrator", "0.1.0"): str(package),
        },
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "launched with: self-check"
    modes = {
        folder: stat.S_IMODE((mounts / folder).stat().st_mode)
        for folder in ("data", "data/raw", "data/extracted")
    }
    assert modes == {"data": 0o755, "data/raw": 0o755, "data/extracted": 0o777}
    for folder in ("data/raw/drive-7", "data/raw/drive-7/day-2"):
        assert stat.S_IMODE((mounts / folder).stat().st_mode) & 0o005 == 0o005, folder


def test_start_task_fails_when_the_mount_is_missing(tmp_path: Path) -> None:
    # A node whose NFS mount did not happen must fail its start task, not take work. A plain
    # file where the mounts directory should be makes mkdir fail even for root.
    not_a_directory = tmp_path / "fsmounts"
    not_a_directory.write_text("")
    result = run_bash(
        start_task_command("data", then="echo should-not-run"),
        {"AZ_BATCH_NODE_MOUNTS_DIR": str(not_a_directory)},
        tmp_path,
    )
    assert result.returncode != 0
    assert "should-not-run" not in result.stdout
