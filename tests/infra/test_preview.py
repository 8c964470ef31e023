"""`make preview` (python -m infra.preview): the full tree for every stack, offline, fast, with
secrets masked; --json for machines."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from infra.offline import REPO_ROOT, Recording, stack_names


def preview(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "infra.preview", *args],
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
