"""What each of our dynamic providers (infra/dynamic/) would return after create, computed
without Azure. Pulumi's mocks never run a provider, and a dynamic resource seeds its outputs with
`None`; with these stand-ins the pools, the pipeline and the preview see values shaped like the
real ones (an image reference with a digest, an application id), derived from the inputs so that
two runs agree.

    state = {**inputs, **stand_in_outputs(type_token, inputs)}

`tests/dynamic/test_stand_ins.py` fails when a dynamic resource has no stand-in here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

# Our dynamic resources declare `module="rosbag"` (infra/dynamic/*.py), which gives this prefix.
TYPE_PREFIX = "pulumi-python:dynamic/rosbag:"


def _sha256(text: object) -> str:
    return hashlib.sha256(str(text).encode()).hexdigest()


def _processor_image(inputs: Mapping[str, Any]) -> dict[str, Any]:
    # Not the registry's digest (only a build knows it), but stable and shaped like one.
    digest = "sha256:" + _sha256(inputs.get("source_hash"))
    image = f"{inputs.get('login_server')}/{inputs.get('repository')}@{digest}"
    return {"image": image, "digest": digest, "build_id": "offline"}


def _orchestrator_package(inputs: Mapping[str, Any]) -> dict[str, Any]:
    account = (
        f"/subscriptions/{inputs.get('subscription_id')}/resourceGroups/"
        f"{inputs.get('resource_group_name')}/providers/Microsoft.Batch/batchAccounts/"
        f"{inputs.get('batch_account_name')}"
    )
    return {
        "application_resource_id": f"{account}/applications/{inputs.get('app_id')}",
        "published_versions": [inputs.get("package_version")],
        "created_application": True,
        "zip_sha256": _sha256(inputs.get("content_hash")),
    }


def _trigger_state(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"runtime_state": "Started" if inputs.get("enabled") else "Stopped"}


def _sample_seed(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"run_id": "offline"}


STAND_INS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    TYPE_PREFIX + "ProcessorImage": _processor_image,
    TYPE_PREFIX + "OrchestratorPackage": _orchestrator_package,
    TYPE_PREFIX + "TriggerState": _trigger_state,
    TYPE_PREFIX + "SampleSeed": _sample_seed,
}


def stand_in_outputs(type_token: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The outputs the provider behind `type_token` would add to `inputs` ({} for other types)."""
    stand_in = STAND_INS.get(type_token)
    return stand_in(inputs) if stand_in else {}
