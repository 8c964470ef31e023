"""The real program under the offline mocks (offline): the dynamic resources feed the pools
and the pipeline, and run in the order a deployment needs."""

from __future__ import annotations

import re

import pytest

from infra import names, node_commands
from offline import RecordedResource, Recording, run_stack

IMAGE = "pulumi-python:dynamic/rosbag:ProcessorImage"
PACKAGE = "pulumi-python:dynamic/rosbag:OrchestratorPackage"
TRIGGER_STATE = "pulumi-python:dynamic/rosbag:TriggerState"
POOL = "azure-native:batch:Pool"
PIPELINE = "azure-native:datafactory:Pipeline"


@pytest.fixture(scope="module")
def stacks() -> dict[str, Recording]:
    # prod configures the schedule trigger, dev does not.
    return {stack: run_stack(stack) for stack in ("dev", "prod")}


def _activity(recording: Recording) -> dict:
    [activity] = [
        a
        for a in recording.one(PIPELINE, "datafactory-pipeline").inputs["activities"]
        if a["type"] == "Custom"
    ]
    return activity


def _depends(resource: RecordedResource, on: RecordedResource) -> bool:
    return on.urn in resource.options.depends_on


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_execution_pool_and_the_tasks_use_the_built_image(
    stacks: dict[str, Recording], stack: str
) -> None:
    recording = stacks[stack]
    image = recording.one(IMAGE).state["image"]
    # name@digest: no tag beside the digest (docs/azure-behaviour.md, "Container Registry").
    assert re.fullmatch(r"[a-z0-9.]+\.azurecr\.io/processor@sha256:[0-9a-f]{64}", image)

    pool = recording.one(POOL, "execution")
    containers = pool.inputs["deploymentConfiguration"]["virtualMachineConfiguration"]
    assert containers["containerConfiguration"]["containerImageNames"] == [image]
    assert _activity(recording)["extendedProperties"]["processorImage"] == image
    assert recording.outputs["processorImage"].value == image


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_orchestrator_pool_and_the_command_use_the_published_version(
    stacks: dict[str, Recording], stack: str
) -> None:
    recording = stacks[stack]
    package = recording.one(PACKAGE)
    version = package.state["package_version"]

    pool = recording.one(POOL, "orchestrator")
    [reference] = pool.inputs["applicationPackages"]
    assert reference["version"] == version
    assert reference["id"].endswith(f"/applications/{names.ORCHESTRATOR_APP_ID}")
    # A pool referencing a version that is not activated yet fails to create.
    assert _depends(pool, package)
    assert (
        node_commands.app_package_env_var(names.ORCHESTRATOR_APP_ID, version)
        in (_activity(recording)["command"])
    )
    assert recording.outputs["orchestratorPackageVersion"].value == version


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_new_package_version_reaches_the_orchestrator_nodes(
    stacks: dict[str, Recording], stack: str
) -> None:
    # Nodes only load a pool's packages when they join, so a new version replaces the pool
    # (delete first: the pool id is fixed); an activity killed by that is retried by ADF and
    # resumes its Batch job, whose id comes from the run id.
    pool = stacks[stack].one(POOL, "orchestrator")
    assert pool.options.replace_on_changes == ("*",)  # any change, the package reference too
    assert pool.options.delete_before_replace


def test_the_schedule_trigger_is_started_after_it_exists(stacks: dict[str, Recording]) -> None:
    prod = stacks["prod"]
    trigger = prod.one("azure-native:datafactory:Trigger", "datafactory-schedule")
    state = prod.one(TRIGGER_STATE, "schedule-state")
    assert state.state["trigger_name"] == trigger.state["name"]
    assert state.state["enabled"] is True
    # Depending on the trigger is what lets Pulumi stop it before replacing the trigger.
    assert _depends(state, trigger)
    assert trigger.options.delete_before_replace


def test_no_schedule_means_no_schedule_trigger_state(stacks: dict[str, Recording]) -> None:
    # dev has only the storage event triggers' states (eventTrigger, on by default).
    names = sorted(state.name for state in stacks["dev"].of_type(TRIGGER_STATE))
    assert names == [f"event-state-{kind}" for kind in ("bag", "db3", "mcap", "metadata")]


def test_each_event_trigger_is_started_after_it_exists(stacks: dict[str, Recording]) -> None:
    dev = stacks["dev"]
    for kind in ("bag", "db3", "mcap", "metadata"):
        trigger = dev.one("azure-native:datafactory:Trigger", f"datafactory-on-{kind}")
        state = dev.one(TRIGGER_STATE, f"event-state-{kind}")
        assert state.state["trigger_name"] == trigger.state["name"]
        assert _depends(state, trigger)
