"""The contract between the pipeline the program declares and the orchestrator that reads it.

The Custom activity is taken from the real program under the offline mocks, for every stack,
its expressions evaluated the way ADF evaluates them before it writes activity.json
(tests/ops/adf_pipeline.py), and handed to the orchestrator's own reader. A key renamed on
either side, or one the orchestrator no longer reads, fails here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from offline import Recording, run_stack, stack_names
from orchestrator import passthrough
from orchestrator.adf import ActivityError, extended_property_keys, read_activity
from tests.ops.adf_pipeline import evaluated_custom_activity

PIPELINE = "azure-native:datafactory:Pipeline"
RUN_ID = "0b8f6b9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture(scope="module", params=stack_names())
def recording(request: pytest.FixtureRequest) -> Recording:
    return run_stack(request.param)


def declared_activity(recording: Recording) -> dict[str, Any]:
    pipeline = recording.one(PIPELINE, "datafactory-pipeline").inputs
    [activity] = [a for a in pipeline["activities"] if a["type"] == "Custom"]
    return dict(activity)


def activity_json(
    recording: Recording,
    tmp_path: Path,
    activity: dict[str, Any] | None = None,
    **parameters: str | bool,
) -> Path:
    """activity.json as ADF writes it for a run of the declared pipeline with `parameters`."""
    pipeline = recording.one(PIPELINE, "datafactory-pipeline").inputs
    values = {key: spec["defaultValue"] for key, spec in pipeline["parameters"].items()}
    values.update(parameters)
    document = evaluated_custom_activity(
        activity or declared_activity(recording),
        parameters=values,
        run_id=RUN_ID,
        pipeline_name=pipeline["pipelineName"],
    )
    path = tmp_path / "activity.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_the_orchestrator_reads_every_setting_the_pipeline_passes(
    recording: Recording, tmp_path: Path
) -> None:
    settings = read_activity(activity_json(recording, tmp_path, inputPath="raw/2026/"))

    assert settings.input_path == "raw/2026/"  # @pipeline().parameters.inputPath
    assert settings.output_path == recording.outputs["extractedPath"].value
    assert settings.run_id == RUN_ID  # @pipeline().RunId
    assert settings.execution_pool_id == recording.outputs["executionPoolId"].value
    assert settings.processor_image == recording.outputs["processorImage"].value
    assert settings.timeout_seconds > 0
    # The lake's folder (@pipeline().parameters.lakePath, default lake/) and the container
    # whose abfss:// URL the commit goes to.
    assert settings.lake_path == "lake/"
    assert settings.data_lake_url.endswith("/data")


def test_the_pipeline_passes_exactly_what_the_orchestrator_reads(recording: Recording) -> None:
    declared = set(declared_activity(recording)["extendedProperties"])
    assert declared == extended_property_keys()


def test_a_renamed_key_is_caught(recording: Recording, tmp_path: Path) -> None:
    activity = declared_activity(recording)
    properties = dict(activity["extendedProperties"])
    properties["executionPool"] = properties.pop("executionPoolId")

    with pytest.raises(ActivityError, match="lacks executionPoolId"):
        read_activity(
            activity_json(recording, tmp_path, {**activity, "extendedProperties": properties})
        )


def test_a_run_with_the_pipelines_defaults_passes_no_processor_option(
    recording: Recording, tmp_path: Path
) -> None:
    settings = read_activity(activity_json(recording, tmp_path))
    options = passthrough.settle(None, dict(settings.processor_options))
    assert options.processor_args() == ()


def test_processor_options_set_on_the_pipeline_reach_the_processor(
    recording: Recording, tmp_path: Path
) -> None:
    """What `ops run --parameter` (or ADF Studio) sets, ADF evaluates into activity.json, and
    the orchestrator turns into every task's processor flags (issue 13)."""
    path = activity_json(
        recording,
        tmp_path,
        sliceStart="+10",
        sliceEnd="+20.5",
        syncReference="/camera/image_raw",
        syncWith="/imu/data, /gps/fix",
        syncTolerance="0.05",
        syncMethod="last-before",
        syncClock="header",
        pointClouds="pcd",
        video=True,  # a boolean parameter, as createRun sends it
    )
    settings = read_activity(path)
    options = passthrough.settle(None, dict(settings.processor_options))

    assert options.processor_args() == (
        "--start=+10",
        "--end=+20.5",
        "--sync=/camera/image_raw",
        "--with",
        "/imu/data",
        "/gps/fix",
        "--sync-tolerance=0.05",
        "--sync-method=last-before",
        "--sync-clock=header",
        "--point-clouds=pcd",
        "--video",
    )


def test_a_pipeline_without_the_processor_options_still_runs(
    recording: Recording, tmp_path: Path
) -> None:
    """A factory deployed before issue 13 passes none of them: the orchestrator runs without."""
    activity = declared_activity(recording)
    properties = {
        key: value
        for key, value in activity["extendedProperties"].items()
        if key not in passthrough.parameters()
    }
    path = activity_json(recording, tmp_path, {**activity, "extendedProperties": properties})
    settings = read_activity(path)
    assert settings.processor_options == ()
    assert passthrough.settle(None, dict(settings.processor_options)).processor_args() == ()
