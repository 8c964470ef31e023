"""The dynamic resources under Pulumi's mocks, as the infra tests run the program: they register
with their own type tokens, their providers pickle (and unpickle in a fresh process, as in
Pulumi's provider host), and the Artifacts component exposes what the pools and the pipeline
consume."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from typing import Any

import dill
import pulumi
import pytest

from infra.components.artifacts import Artifacts, ArtifactsArgs
from infra.dynamic._package import PackageSources
from infra.dynamic.orchestrator_package import OrchestratorPackageProvider
from infra.dynamic.processor_image import ProcessorImageProvider
from infra.dynamic.trigger_state import TriggerState, TriggerStateArgs, TriggerStateProvider
from infra.placement import Placement
from offline import RecordedResource, use_mocks
from tests.dynamic.helpers import (
    BATCH_ACCOUNT,
    LOGIN_SERVER,
    REGISTRY,
    REPOSITORY_ROOT,
    RESOURCE_GROUP,
    SUBSCRIPTION,
)


class Registered:
    """What the engine was told, by logical name (the offline mocks answer, as for the program)."""

    def __init__(self) -> None:
        self.recorded: list[RecordedResource] = []

    def __getitem__(self, name: str) -> RecordedResource:
        [found] = [r for r in self.recorded if r.name == name]
        return found


@pytest.fixture
def registered() -> Registered:
    found = Registered()
    use_mocks(recorded=found.recorded)
    return found


def _artifacts(**extra: Any) -> Artifacts:
    return Artifacts(
        "artifacts",
        ArtifactsArgs(
            placement=Placement(RESOURCE_GROUP, "westeurope"),
            subscription_id=SUBSCRIPTION,
            registry_name=REGISTRY,
            registry_login_server=LOGIN_SERVER,
            batch_account_name=BATCH_ACCOUNT,
            **extra,
        ),
    )


def _serialized_provider(resource: RecordedResource) -> str:
    """The pickled provider, a secret (as it is in state)."""
    assert "__provider" in resource.secret_inputs
    return resource.inputs["__provider"]


def _provider_of(resource: RecordedResource) -> Any:
    return dill.loads(base64.b64decode(_serialized_provider(resource)))


@pulumi.runtime.test
def test_artifacts_register_typed_dynamic_resources_with_picklable_providers(
    registered: Registered,
) -> pulumi.Output[None]:
    artifacts = _artifacts()

    def check(_: Any) -> None:
        image = registered["artifacts-processor-image"]
        package = registered["artifacts-orchestrator-package"]
        assert image.type == "pulumi-python:dynamic/rosbag:ProcessorImage"
        assert package.type == "pulumi-python:dynamic/rosbag:OrchestratorPackage"
        assert isinstance(_provider_of(image), ProcessorImageProvider)
        assert isinstance(_provider_of(package), OrchestratorPackageProvider)
        # Nothing but the class travels in the pickle: no credentials, no clients.
        assert vars(_provider_of(image)) == {} and vars(_provider_of(package)) == {}

    return pulumi.Output.all(
        artifacts.processor_image, artifacts.orchestrator_package_version
    ).apply(check)


@pulumi.runtime.test
def test_artifacts_outputs_are_what_the_pools_and_pipeline_consume(
    registered: Registered,
) -> pulumi.Output[None]:
    artifacts = _artifacts()
    version = PackageSources.of(REPOSITORY_ROOT / "apps" / "orchestrator").version

    def check(values: list[Any]) -> None:
        image, package_version, application_id = values
        assert re.fullmatch(rf"{LOGIN_SERVER}/processor@sha256:[0-9a-f]{{64}}", image)
        assert package_version == version
        assert application_id.endswith(f"/batchAccounts/{BATCH_ACCOUNT}/applications/orchestrator")
        assert artifacts.orchestrator_app_id == "orchestrator"
        assert list(artifacts.pool_dependencies) == [artifacts.orchestrator_package]

    return pulumi.Output.all(
        artifacts.processor_image,
        artifacts.orchestrator_package_version,
        artifacts.orchestrator_application_id,
    ).apply(check)


@pulumi.runtime.test
def test_a_replaced_registry_or_account_replaces_what_lives_in_it(
    registered: Registered,
) -> pulumi.Output[None]:
    group = {"resourceGroupName": RESOURCE_GROUP}
    registry = pulumi.CustomResource("azure-native:containerregistry:Registry", "acr", group)
    account = pulumi.CustomResource("azure-native:batch:BatchAccount", "batch", group)
    artifacts = _artifacts(registry_resource=registry, batch_account_resource=account)

    def check(urns: list[str]) -> None:
        registry_urn, account_urn = urns
        image = registered["artifacts-processor-image"].options
        package = registered["artifacts-orchestrator-package"].options
        assert (image.replace_with, image.delete_before_replace) == ((registry_urn,), True)
        assert (package.replace_with, package.delete_before_replace) == ((account_urn,), True)
        # Without the resources, neither option is set.
        acr = registered["acr"].options
        assert (acr.replace_with, acr.delete_before_replace) == ((), False)

    # Wait for both children: each is registered when its own outputs resolve.
    return pulumi.Output.all(
        registry.urn,
        account.urn,
        artifacts.processor_image,
        artifacts.orchestrator_package_version,
    ).apply(lambda values: check(values[:2]))


@pulumi.runtime.test
def test_trigger_state_registers_and_reports_its_state(
    registered: Registered,
) -> pulumi.Output[None]:
    state = TriggerState(
        "schedule-state",
        TriggerStateArgs(
            subscription_id=SUBSCRIPTION,
            resource_group_name=RESOURCE_GROUP,
            factory_name="rb-dev-adf",
            trigger_name=pulumi.Output.from_input("extract-bags-schedule"),
            enabled=True,
        ),
    )

    def check(runtime_state: str) -> None:
        resource = registered["schedule-state"]
        assert resource.type == "pulumi-python:dynamic/rosbag:TriggerState"
        assert isinstance(_provider_of(resource), TriggerStateProvider)
        assert runtime_state == "Started"

    return state.runtime_state.apply(check)


@pulumi.runtime.test
def test_a_pickled_provider_loads_and_diffs_in_a_fresh_process(
    registered: Registered,
) -> pulumi.Output[None]:
    """Pulumi's provider host unpickles providers in its own process, started in the project
    directory: the providers must load there without the program having run."""
    artifacts = _artifacts()

    def check(_: Any) -> None:
        package = registered["artifacts-orchestrator-package"]
        olds = {k: v for k, v in package.inputs.items() if k != "__provider"}
        news = olds | {"content_hash": "0" * 64}
        script = (
            "import base64, json, sys, dill\n"
            "data = json.load(sys.stdin)\n"
            "provider = dill.loads(base64.b64decode(data['provider']))\n"
            "print(json.dumps([type(provider).__module__, "
            "provider.diff('id', data['olds'], data['olds']).changes, "
            "provider.diff('id', data['olds'], data['news']).changes]))\n"
        )
        payload = {"provider": _serialized_provider(package), "olds": olds, "news": news}
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=json.dumps(payload),
            capture_output=True,
            text=True,
            cwd=REPOSITORY_ROOT,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == ["infra.dynamic.orchestrator_package", False, True]

    return artifacts.orchestrator_package_version.apply(check)
