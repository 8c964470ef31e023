"""The orchestrator's way into the lake on Azure: Delta commits over the Blob API as the
orchestrator pool's identity, which may write under lake/ and nowhere else in the data
container (docs/lakehouse.md, "On Azure"). Played against tests/infra/azure_rules.py."""

from __future__ import annotations

from typing import Any, cast

import pytest

from infra import names
from infra.components.access import ROLE_IDS, blob_prefix_condition
from offline import Recording, stack_names
from tests.infra.azure_rules import PIPELINE, PLAN_RULES, ROLE, UAMI, Subscription


def _lake_grant(recording: Recording) -> dict[str, Any]:
    principal = recording.one(UAMI, "identity-orchestrator").state["principalId"]
    container = next(
        c.id
        for c in recording.of_type("azure-native:storage:BlobContainer")
        if c.inputs["containerName"] == names.DATA_CONTAINER
    )
    [grant] = [
        r.inputs
        for r in recording.of_type(ROLE)
        if r.inputs["principalId"] == principal and r.inputs["scope"] == container
    ]
    return cast(dict[str, Any], grant)


@pytest.mark.parametrize("stack", stack_names())
def test_the_orchestrator_may_write_the_lake_and_nothing_else_of_the_data_container(
    azure: Subscription, stack: str
) -> None:
    recording = azure.up(stack)
    assert azure.refusals == [], "\n".join(map(str, azure.refusals))
    grant = _lake_grant(recording)
    assert grant["roleDefinitionId"].endswith(ROLE_IDS["Storage Blob Data Contributor"])
    assert grant["conditionVersion"] == "2.0"
    assert grant["condition"] == blob_prefix_condition(names.LAKE_PATH)
    condition = grant["condition"]
    # Every data action of the role is in the condition, and only lake/ admits it.
    for action in ("read", "write", "delete", "add/action", "move/action"):
        assert f"containers/blobs/{action}'}}" in condition
    assert condition.count("StringStartsWith") == 1 and "StringStartsWith 'lake/'" in condition
    pipeline = recording.one(PIPELINE, "datafactory-pipeline").inputs
    assert pipeline["parameters"]["lakePath"]["defaultValue"] == names.LAKE_PATH


def _refusals_after(azure: Subscription, change: str) -> list[str]:
    azure.up("dev")
    state = azure.state
    assert state is not None
    grant = _lake_grant(state)
    if change == "no grant":
        grant["principalId"] = "someone-else"
    elif change == "other prefix":
        grant["condition"] = blob_prefix_condition("extracted/")
    elif change == "no version":
        del grant["conditionVersion"]
    for rule in PLAN_RULES:
        rule(azure, state, {})
    return [r.code for r in azure.refusals]


def test_without_its_grant_the_lake_commit_is_refused(azure: Subscription) -> None:
    assert _refusals_after(azure, "no grant") == ["AuthorizationPermissionMismatch"]


def test_a_condition_on_another_prefix_refuses_the_lake_commit(azure: Subscription) -> None:
    assert _refusals_after(azure, "other prefix") == ["AuthorizationPermissionMismatch"]


def test_a_condition_without_version_2_is_refused(azure: Subscription) -> None:
    assert _refusals_after(azure, "no version") == ["InvalidConditionVersion"]


def test_the_condition_takes_only_a_folder() -> None:
    for bad in ("lake", "/lake/", "la'ke/"):
        with pytest.raises(ValueError, match="expected a folder"):
            blob_prefix_condition(bad)
