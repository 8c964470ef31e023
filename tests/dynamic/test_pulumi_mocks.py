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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dill
import pulumi
import pytest
from pulumi.runtime import MockCallArgs, MockResourceArgs, Mocks
from pulumi.runtime.mocks import MockMonitor

from infra.components.artifacts import Artifacts, ArtifactsArgs
from infra.dynamic._package import PackageSources
from infra.dynamic.orchestrator_package import OrchestratorPackageProvider
from infra.dynamic.processor_image import ProcessorImageProvider
from infra.dynamic.simulate import simulated_outputs
from infra.dynamic.trigger_state import TriggerState, TriggerStateArgs, TriggerStateProvider
from tests.dynamic.helpers import (
    BATCH_ACCOUNT,
    LOGIN_SERVER,
    REGISTRY,
    REPOSITORY_ROOT,
    RESOURCE_GROUP,
    SUBSCRIPTION,
)


class DynamicMocks(Mocks):
    """Answers what each provider would return after create (infra.dynamic.simulate)."""

    def __init__(self) -> None:
        self.resources: dict[str, MockResourceArgs] = {}
        self.monitor: OptionsMonitor | None = None

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.resources[args.name] = args
        return f"{args.name}-id", {**args.inputs, **simulated_outputs(args.typ, args.inputs)}

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@dataclass(frozen=True)
class Options:
    replace_with: tuple[str, ...]  # URNs
    delete_before_replace: bool


class OptionsMonitor(MockMonitor):
    """Records the resource options the engine would receive (the mocks do not see them)."""

    def __init__(self, mocks: DynamicMocks) -> None:
        super().__init__(mocks)
        self.options: dict[str, Options] = {}

    def RegisterResource(self, request: Any) -> Any:
        self.options[request.name] = Options(
            tuple(request.replace_with), bool(request.deleteBeforeReplace)
        )
        return super().RegisterResource(request)


@pytest.fixture
def mocks() -> Iterator[DynamicMocks]:
    instance = DynamicMocks()
    instance.monitor = OptionsMonitor(instance)
    pulumi.runtime.set_mocks(instance, preview=False, monitor=instance.monitor)
    yield instance


def _artifacts(**extra: Any) -> Artifacts:
    return Artifacts(
        "artifacts",
        ArtifactsArgs(
            subscription_id=SUBSCRIPTION,
            resource_group_name=RESOURCE_GROUP,
            registry_name=REGISTRY,
            registry_login_server=LOGIN_SERVER,
            batch_account_name=BATCH_ACCOUNT,
            **extra,
        ),
    )


def _serialized_provider(args: MockResourceArgs) -> str:
    """The pickled provider; the mocks see it still wrapped as a secret (as it is in state)."""
    value = args.inputs["__provider"]
    return value["value"] if isinstance(value, dict) else value


def _provider_of(args: MockResourceArgs) -> Any:
    return dill.loads(base64.b64decode(_serialized_provider(args)))


@pulumi.runtime.test
def test_artifacts_register_typed_dynamic_resources_with_picklable_providers(
    mocks: DynamicMocks,
) -> pulumi.Output[None]:
    artifacts = _artifacts()

    def check(_: Any) -> None:
        image = mocks.resources["artifacts-processor-image"]
        package = mocks.resources["artifacts-orchestrator-package"]
        assert image.typ == "pulumi-python:dynamic/rosbag:ProcessorImage"
        assert package.typ == "pulumi-python:dynamic/rosbag:OrchestratorPackage"
        assert isinstance(_provider_of(image), ProcessorImageProvider)
        assert isinstance(_provider_of(package), OrchestratorPackageProvider)
        # Nothing but the class travels in the pickle: no credentials, no clients.
        assert vars(_provider_of(image)) == {} and vars(_provider_of(package)) == {}

    return pulumi.Output.all(
        artifacts.processor_image, artifacts.orchestrator_package_version
    ).apply(check)


@pulumi.runtime.test
def test_artifacts_outputs_are_what_the_pools_and_pipeline_consume(
    mocks: DynamicMocks,
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
    mocks: DynamicMocks,
) -> pulumi.Output[None]:
    registry = pulumi.CustomResource("azure-native:containerregistry:Registry", "acr", {})
    account = pulumi.CustomResource("azure-native:batch:BatchAccount", "batch", {})
    artifacts = _artifacts(registry_resource=registry, batch_account_resource=account)

    def check(urns: list[str]) -> None:
        assert mocks.monitor is not None
        registry_urn, account_urn = urns
        image = mocks.monitor.options["artifacts-processor-image"]
        package = mocks.monitor.options["artifacts-orchestrator-package"]
        assert image == Options((registry_urn,), delete_before_replace=True)
        assert package == Options((account_urn,), delete_before_replace=True)
        # Without the resources, neither option is set.
        assert mocks.monitor.options["acr"] == Options((), delete_before_replace=False)

    # Wait for both children: each is registered when its own outputs resolve.
    return pulumi.Output.all(
        registry.urn,
        account.urn,
        artifacts.processor_image,
        artifacts.orchestrator_package_version,
    ).apply(lambda values: check(values[:2]))


@pulumi.runtime.test
def test_trigger_state_registers_and_reports_its_state(
    mocks: DynamicMocks,
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
        registered = mocks.resources["schedule-state"]
        assert registered.typ == "pulumi-python:dynamic/rosbag:TriggerState"
        assert isinstance(_provider_of(registered), TriggerStateProvider)
        assert runtime_state == "Started"

    return state.runtime_state.apply(check)


@pulumi.runtime.test
def test_a_pickled_provider_loads_and_diffs_in_a_fresh_process(
    mocks: DynamicMocks,
) -> pulumi.Output[None]:
    """Pulumi's provider host unpickles providers in its own process, started in the project
    directory: the providers must load there without the program having run."""
    artifacts = _artifacts()

    def check(_: Any) -> None:
        registered = mocks.resources["artifacts-orchestrator-package"]
        olds = {k: v for k, v in registered.inputs.items() if k != "__provider"}
        news = olds | {"content_hash": "0" * 64}
        script = (
            "import base64, json, sys, dill\n"
            "data = json.load(sys.stdin)\n"
            "provider = dill.loads(base64.b64decode(data['provider']))\n"
            "print(json.dumps([type(provider).__module__, "
            "provider.diff('id', data['olds'], data['olds']).changes, "
            "provider.diff('id', data['olds'], data['news']).changes]))\n"
        )
        payload = {"provider": _serialized_provider(registered), "olds": olds, "news": news}
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
