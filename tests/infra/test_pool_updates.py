"""Changing a stack whose pools exist: every change to a pool replaces it (deleting first, the
pool ids are fixed), because Batch refuses the update azure-native would send. Played against
the subscription in tests/infra/azure_rules.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.azure_rules import POOL, Subscription


def pool_plans(azure: Subscription) -> dict[str, str]:
    assert azure.state is not None
    plan = azure.plans[-1]
    return {p.inputs["poolName"]: plan[p.urn] for p in azure.state.of_type(POOL)}


@pytest.mark.parametrize(
    ("change", "pools"),
    [
        ({"executionMaxNodes": 3}, {"execution": "replace", "orchestrator": "same"}),
        ({"executionTaskSlotsPerNode": 2}, {"execution": "replace", "orchestrator": "same"}),
        ({"orchestratorMaxNodes": 2}, {"execution": "same", "orchestrator": "replace"}),
        # A new vault (its retention is fixed at creation) changes the orchestrator's start task.
        ({"keyVaultRetentionDays": 30}, {"execution": "same", "orchestrator": "replace"}),
    ],
)
def test_a_changed_pool_is_replaced_and_up_succeeds(
    azure: Subscription, change: dict[str, Any], pools: dict[str, str]
) -> None:
    azure.up("dev")
    azure.up("dev", config_overrides=change)
    assert azure.refusals == [], "\n".join(map(str, azure.refusals))
    assert pool_plans(azure) == pools


def test_pools_are_deleted_before_their_replacement(azure: Subscription) -> None:
    rec = azure.up("dev")
    for pool in rec.of_type(POOL):
        assert pool.options.delete_before_replace, pool.name  # fixed pool ids
