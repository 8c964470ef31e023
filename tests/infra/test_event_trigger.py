"""The storage event triggers under Pulumi mocks: scope, events, path filters, the bag's path
passed to the pipeline, and the TriggerState that starts each one (on by default)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components.adf_event_trigger import BAG_PATH_EXPRESSION
from offline import Recording, run_stack

TRIGGER = "azure-native:datafactory:Trigger"
TRIGGER_STATE = "pulumi-python:dynamic/rosbag:TriggerState"
LAKE = "azure-native:storage:StorageAccount"


def event_triggers(recording: Recording) -> dict[str, dict[str, Any]]:
    return {
        t.inputs["triggerName"]: t.inputs["properties"]
        for t in recording.of_type(TRIGGER)
        if t.inputs["properties"]["type"] == "BlobEventsTrigger"
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_trigger_per_bag_suffix_on_blobs_created_under_raw(
    recordings: dict[str, Recording], stack: str
) -> None:
    recording = recordings[stack]
    lake = recording.one(LAKE, "datalake-account")
    triggers = event_triggers(recording)

    assert {name: p["blobPathEndsWith"] for name, p in triggers.items()} == {
        "extract-bags-on-bag": ".bag",
        "extract-bags-on-mcap": ".mcap",
        "extract-bags-on-db3": ".db3",
        "extract-bags-on-metadata": "/metadata.yaml",
    }
    for properties in triggers.values():
        # The data lake's account (an ARM id, not the container): Event Grid's system topic.
        assert properties["scope"] == lake.id
        assert properties["events"] == ["Microsoft.Storage.BlobCreated"]
        # `/blobs/` separates the container from the folder (ADF's blobPathBeginsWith syntax).
        assert properties["blobPathBeginsWith"] == "/data/blobs/raw/"
        assert properties["ignoreEmptyBlobs"] is True
        [run] = properties["pipelines"]
        assert run["pipelineReference"]["referenceName"] == "extract-bags"
        assert run["parameters"] == {
            "inputPath": "raw/",
            "outputPath": "extracted/",
            "format": "csv",
            "lakePath": "lake/",
            "bagPath": "@concat(triggerBody().folderPath, '/', triggerBody().fileName)",
        }
    assert BAG_PATH_EXPRESSION.startswith("@")  # evaluated by ADF, never passed as text


def test_each_event_trigger_is_started_by_its_trigger_state(
    recordings: dict[str, Recording],
) -> None:
    dev = recordings["dev"]
    triggers = {t.name: t for t in dev.of_type(TRIGGER)}
    states = [s for s in dev.of_type(TRIGGER_STATE) if s.name.startswith("event-state-")]

    assert len(states) == 4
    for state in states:
        assert state.inputs["enabled"] is True
        trigger = triggers[f"datafactory-on-{state.name.removeprefix('event-state-')}"]
        assert state.inputs["trigger_name"] == trigger.inputs["triggerName"]
        assert state.inputs["factory_name"] == trigger.inputs["factoryName"]


def test_the_pipeline_passes_the_bag_and_the_quarantine_folder_to_the_orchestrator(
    recordings: dict[str, Recording],
) -> None:
    pipeline = recordings["dev"].one("azure-native:datafactory:Pipeline", "datafactory-pipeline")
    [activity] = [a for a in pipeline.inputs["activities"] if a["type"] == "Custom"]
    properties = activity["extendedProperties"]
    assert properties["bagPath"]["value"] == "@pipeline().parameters.bagPath"
    assert properties["quarantinePath"]["value"] == "@pipeline().parameters.quarantinePath"


def test_event_trigger_off_declares_none_and_the_schedule_stays() -> None:
    recording = run_stack(
        "dev",
        config_overrides={
            "eventTrigger": "false",
            "scheduleFrequency": "Hour",
            "scheduleStartTime": "2030-01-01T00:00:00Z",
        },
    )
    assert event_triggers(recording) == {}
    assert [t.inputs["triggerName"] for t in recording.of_type(TRIGGER)] == [
        "extract-bags-schedule"
    ]


def test_quarantine_bags_sets_the_pipelines_quarantine_folder() -> None:
    recording = run_stack("dev", config_overrides={"quarantineBags": "true"})
    pipeline = recording.one("azure-native:datafactory:Pipeline", "datafactory-pipeline")
    assert pipeline.inputs["parameters"]["quarantinePath"] == {
        "type": "String",
        "defaultValue": "raw/quarantine/",
    }
