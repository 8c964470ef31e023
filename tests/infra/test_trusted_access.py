"""ADF's way into the firewalled data lake: the trusted-services bypass, which admits only the
factory's system-assigned identity. Played against tests/infra/azure_rules.py, which refuses a
linked service that reaches firewalled storage with a user-assigned identity."""

from __future__ import annotations

from typing import Any, cast

import pytest

from infra.components.access import ROLE_IDS
from offline import stack_names
from tests.infra.azure_rules import (
    FACTORY,
    LINKED_SERVICE,
    PLAN_RULES,
    ROLE,
    STORAGE_ACCOUNT,
    Subscription,
)


@pytest.mark.parametrize("stack", stack_names())
def test_adf_reaches_the_firewalled_lake_with_its_system_assigned_identity(
    azure: Subscription, stack: str
) -> None:
    recording = azure.up(stack)
    assert azure.refusals == [], "\n".join(map(str, azure.refusals))
    factory = recording.one(FACTORY)
    assert factory.inputs["identity"]["type"] == "SystemAssigned,UserAssigned"
    lake = next(
        ls
        for ls in recording.of_type(LINKED_SERVICE)
        if ls.inputs["properties"]["type"] == "AzureBlobFS"
    )
    assert "credential" not in lake.inputs["properties"]


def test_a_user_assigned_credential_on_the_lake_is_refused(azure: Subscription) -> None:
    """The rule itself: the linked service as it was before the fix is refused."""
    azure.up("dev")
    state = azure.state
    assert state is not None
    lake = next(
        ls
        for ls in state.of_type(LINKED_SERVICE)
        if ls.inputs["properties"]["type"] == "AzureBlobFS"
    )
    lake.inputs["properties"]["credential"] = {"referenceName": "factory-identity"}
    for rule in PLAN_RULES:
        rule(azure, state, {})
    assert [r.code for r in azure.refusals] == ["AuthorizationFailure"]


def _rules_after(azure: Subscription, change: str) -> list[str]:
    """The plan rules played against dev's state with one thing changed (second Azure review)."""
    azure.up("dev")
    state = azure.state
    assert state is not None
    if change == "no bypass":
        lake_account = next(
            a
            for a in state.of_type(STORAGE_ACCOUNT)
            if (a.inputs.get("networkRuleSet") or {}).get("defaultAction") == "Deny"
        )
        lake_account.inputs["networkRuleSet"]["bypass"] = "None"
    else:  # the factory's grant on the lake becomes read-only
        principal = state.one(FACTORY).state["identity"]["principalId"]
        for grant in state.of_type(ROLE):
            if grant.inputs["principalId"] == principal:
                inputs = cast(dict[str, Any], grant.inputs)  # a dict in the recording
                inputs["roleDefinitionId"] = str(inputs["roleDefinitionId"]).replace(
                    ROLE_IDS["Storage Blob Data Contributor"],
                    ROLE_IDS["Storage Blob Data Reader"],
                )
    for rule in PLAN_RULES:
        rule(azure, state, {})
    return [r.code for r in azure.refusals]


def test_a_lake_that_does_not_bypass_azure_services_is_refused(azure: Subscription) -> None:
    assert _rules_after(azure, "no bypass") == ["AuthorizationFailure"]


def test_a_read_only_grant_cannot_write_the_sample(azure: Subscription) -> None:
    assert _rules_after(azure, "reader") == ["AuthorizationPermissionMismatch"]
