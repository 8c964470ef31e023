"""`make preview` (python -m offline.preview): the full tree for every stack, offline, fast, with
secrets masked; --json for machines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from offline import REPO_ROOT, Recording, stack_names
from offline.preview import cost_lines


def preview(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "offline.preview", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("stack", stack_names())
def test_preview_prints_every_resource_and_output_in_under_15_s(
    stack: str, recordings: dict[str, Recording]
) -> None:
    result, seconds = preview("--stack", stack)
    assert result.returncode == 0, result.stderr
    assert seconds < 15
    text = result.stdout
    recording = recordings[stack]
    assert f"stack rosbag-batch/{stack}: {len(recording.resources)} resources" in text
    tree_lines = [line for line in text.splitlines() if "─ " in line]
    assert len(tree_lines) == len(recording.resources)  # each resource once, nothing lost
    for resource in recording.resources:
        assert f"{resource.type}  {resource.name}" in text
    for name in recording.outputs:
        assert f"  {name} = " in text
    connection = recording.outputs["applicationInsightsConnectionString"].value
    assert connection not in text
    assert "applicationInsightsConnectionString = [secret]" in text
    assert "enableNfsV3 = true" in text


@pytest.mark.slow
def test_preview_json_has_inputs_options_and_masked_secrets() -> None:
    result, _ = preview("--stack", "prod", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stack"] == "prod"
    assert document["outputs"]["applicationInsightsConnectionString"] == "[secret]"
    secret = next(r for r in document["resources"] if r["type"] == "azure-native:keyvault:Secret")
    assert secret["inputs"]["properties"] == "[secret]"
    lake = next(r for r in document["resources"] if r["name"] == "datalake-account")
    assert lake["options"]["protect"] is True
    assert lake["inputs"]["enableNfsV3"] is True


def test_preview_of_an_unknown_stack_says_which_exist() -> None:
    result, _ = preview("--stack", "nope")
    assert result.returncode == 2
    assert "no stack file Pulumi.nope.yaml" in result.stderr
    assert "dev" in result.stderr


def config_value(recording: Recording, key: str) -> str:
    return recording.config[f"{recording.project}:{key}"]


@pytest.mark.parametrize("stack", stack_names())
def test_the_tree_shows_what_drives_cost_autoscale_maximum_and_schedule(
    stack: str, recordings: dict[str, Recording]
) -> None:
    recording = recordings[stack]
    lines = cost_lines(recording)

    for pool in ("orchestrator", "execution"):
        vm_size = config_value(recording, f"{pool}VmSize")
        most = config_value(recording, f"{pool}MaxNodes")
        spot = recording.config.get(f"{recording.project}:executionMaxSpotNodes", "0")
        # The execution pool's Spot range beside its dedicated one (infra/config.py).
        also = f" + 0..{spot} Spot nodes" if pool == "execution" and int(spot) > 0 else ""
        assert (
            f"  pool {pool}: {vm_size} x 0..{most} dedicated nodes{also} (autoscale every PT5M)"
            in lines
        )
    frequency = config_value(recording, "scheduleFrequency")
    [schedule] = [line for line in lines if line.startswith("  schedule: ")]
    if frequency:
        interval = config_value(recording, "scheduleInterval")
        start = config_value(recording, "scheduleStartTime")
        assert schedule == (
            f"  schedule: every {interval} x {frequency} from {start} (UTC), started at deploy"
        )
    else:
        assert schedule == "  schedule: none (runs start only when someone starts them)"


@pytest.mark.slow
def test_preview_text_leads_with_the_cost_lines_and_marks_them_on_the_resources(
    recordings: dict[str, Recording],
) -> None:
    recording = recordings["prod"]
    result, _ = preview("--stack", "prod")
    assert result.returncode == 0, result.stderr
    text = result.stdout.splitlines()
    assert text[1 : len(cost_lines(recording)) + 1] == cost_lines(recording)
    shown = {line.strip(" │") for line in text}
    most = config_value(recording, "executionMaxNodes")
    assert f"autoscale = 0..{most} dedicated nodes, every PT5M" in shown
    interval, frequency, start = (
        config_value(recording, key)
        for key in ("scheduleInterval", "scheduleFrequency", "scheduleStartTime")
    )
    assert f"schedule = every {interval} x {frequency} from {start} (UTC)" in shown


def test_help_keeps_its_example_lines_apart() -> None:
    result, _ = preview("--help")
    assert result.returncode == 0
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert any(line.startswith("python -m offline.preview --stack dev ") for line in lines)
    assert any(line.startswith("python -m offline.preview --stack prod --json") for line in lines)


@pytest.mark.slow
def test_make_preview_json_prints_only_json() -> None:
    """`make preview JSON=1 > f.json`: nothing but the document on stdout (make's own echo of the
    recipe, setup's output or warnings would break it). The venv stamp is taken as up to date
    (-o) so the test runs the recipe itself, never a reinstall."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    result = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "-o", ".venv/.program",
         "preview", "JSON=1", "STACK=dev", f"PY={sys.executable}"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["stack"] == "dev"


@pytest.mark.slow
def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    """`make preview | head`: the reader has gone before the tree is written (its end of the
    pipe is closed first, so the write fails whatever the pipe's buffer size)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "offline.preview", "--stack", "dev"],
            cwd=REPO_ROOT,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr
    assert result.returncode == 141
