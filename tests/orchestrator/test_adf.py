"""The ADF file contract: activity.json in, outputs.json (always under 2 MB) out."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import pytest

from orchestrator.adf import (
    OUTPUTS_LIMIT_BYTES,
    ActivityError,
    outputs_document,
    read_activity,
    write_outputs,
)
from orchestrator.outcome import BagResult, BagStatus, OutputCounts, TaskOutcome
from tests.orchestrator.helpers import activity_document, write_activity


def test_reads_every_extended_property(tmp_path: Path) -> None:
    settings = read_activity(write_activity(tmp_path, timeoutMinutes="90"))

    assert settings.input_path == "raw/"
    assert settings.run_id == "8d6a1f0e-3b8b-4c4e-9a52-0c1d2e3f4a5b"
    assert settings.execution_pool_id == "execution"
    assert settings.orchestrator_identity_client_id == "00000000-0000-0000-0000-000000000001"
    assert settings.execution_identity_resource_id.endswith("/userAssignedIdentities/execution")
    assert settings.mount_path == "data"
    assert settings.timeout_seconds == 90 * 60
    assert settings.key_vault_uri == ""  # optional: empty means no Application Insights


def test_missing_settings_are_named(tmp_path: Path) -> None:
    document = activity_document()
    properties = document["typeProperties"]["extendedProperties"]
    del properties["processorImage"]
    properties["mountPath"] = " "
    path = tmp_path / "activity.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    with pytest.raises(ActivityError, match=r"lacks processorImage, mountPath"):
        read_activity(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "cannot read"),
        ('{"typeProperties": {}}', "has no typeProperties.extendedProperties"),
        ("[1, 2]", "has no typeProperties.extendedProperties"),
    ],
)
def test_unreadable_activity_file_is_explained(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "activity.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ActivityError, match=message):
        read_activity(path)


def test_bad_timeout_is_explained(tmp_path: Path) -> None:
    settings = read_activity(write_activity(tmp_path, timeoutMinutes="soon"))
    with pytest.raises(ActivityError, match="timeoutMinutes 'soon' is not a number"):
        _ = settings.timeout_seconds


def result(index: int, status: BagStatus) -> BagResult:
    failed = (
        TaskOutcome(f"extract-{index}", 2, stderr_tail="reading...\nerror: bad header\n")
        if status is BagStatus.FAILED
        else None
    )
    return BagResult(
        bag=PurePosixPath(f"raw/2026/run-{index:06}/drive-{index:06}.bag"),
        status=status,
        output=PurePosixPath(f"extracted/2026/run-{index:06}/drive-{index:06}"),
        counts=OutputCounts(topics=12, messages=1_000_000, files=30),
        seconds=42.0,
        failed_task=failed,
    )


def test_outputs_list_failures_first_with_their_reason() -> None:
    results = [result(1, BagStatus.SUCCEEDED), result(2, BagStatus.FAILED)]
    document = outputs_document("job", "extracted", results, timed_out=False)

    assert document["succeeded"] is False
    assert document["bags"]["failed"] == 1 and document["bags"]["succeeded"] == 1
    first = document["results"][0]
    assert first["status"] == "failed"
    assert first["exitCode"] == 2
    assert first["reason"] == "error: bad header"  # the last stderr line
    assert document["messages"] == 2_000_000


def test_outputs_of_a_huge_run_stay_under_two_megabytes(tmp_path: Path) -> None:
    statuses = [BagStatus.SUCCEEDED] * 49_000 + [BagStatus.FAILED] * 1_000
    results = [result(index, status) for index, status in enumerate(statuses)]

    document = outputs_document("job", "extracted", results, timed_out=False)
    path = tmp_path / "outputs.json"
    write_outputs(path, document)

    assert path.stat().st_size < OUTPUTS_LIMIT_BYTES
    written = json.loads(path.read_text(encoding="utf-8"))
    assert written["bags"]["total"] == 50_000
    assert written["resultsOmitted"] == 50_000 - len(written["results"]) > 0
    # Every failure made it in, ahead of the successes.
    assert [entry["status"] for entry in written["results"][:1000]] == ["failed"] * 1000
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    "value",
    [
        {"type": "Expression", "value": "@pipeline().parameters.inputPath"},
        "@pipeline().parameters.inputPath",
        ["raw/"],
    ],
)
def test_values_adf_did_not_evaluate_are_refused(tmp_path: Path, value: object) -> None:
    # An expression ADF left unevaluated must not become a path like "{'type': ...}".
    with pytest.raises(ActivityError, match=r"inputPath=.*not a plain string"):
        read_activity(write_activity(tmp_path, inputPath=value))
