"""What each dynamic provider would return, computed without Azure: for the offline preview and
the infra mock tests (Pulumi's mocks never run a provider), so pools and the pipeline show the
values they will really get instead of the seeded `None`s.

    outputs = {**inputs, **simulated_outputs(type_token, inputs)}
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

TYPE_PREFIX = "pulumi-python:dynamic/rosbag:"


def _digest_placeholder(source_hash: str) -> str:
    # Not the registry's digest (only a build knows it), but stable and shaped like one.
    return "sha256:" + hashlib.sha256(f"offline:{source_hash}".encode()).hexdigest()


def _processor_image(inputs: Mapping[str, Any]) -> dict[str, Any]:
    digest = _digest_placeholder(str(inputs["source_hash"]))
    image = f"{inputs['login_server']}/{inputs['repository']}@{digest}"
    return {"image": image, "digest": digest, "build_id": "offline"}


def _orchestrator_package(inputs: Mapping[str, Any]) -> dict[str, Any]:
    application_id = (
        f"/subscriptions/{inputs['subscription_id']}/resourceGroups/"
        f"{inputs['resource_group_name']}/providers/Microsoft.Batch/batchAccounts/"
        f"{inputs['batch_account_name']}/applications/{inputs['app_id']}"
    )
    return {
        "application_resource_id": application_id,
        "published_versions": [inputs["package_version"]],
        "created_application": True,
        "zip_sha256": None,
    }


def _trigger_state(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"runtime_state": "Started" if inputs.get("enabled") else "Stopped"}


def _sample_seed(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"run_id": "offline"}


_SIMULATORS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    TYPE_PREFIX + "ProcessorImage": _processor_image,
    TYPE_PREFIX + "OrchestratorPackage": _orchestrator_package,
    TYPE_PREFIX + "TriggerState": _trigger_state,
    TYPE_PREFIX + "SampleSeed": _sample_seed,
}


def simulated_outputs(type_token: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs the provider behind `type_token` would add to `inputs` ({} for other types)."""
    simulator = _SIMULATORS.get(type_token)
    return simulator(inputs) if simulator else {}
