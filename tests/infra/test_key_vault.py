"""The Key Vault across deployments: destroy then up on every stack with no manual step, the
secret going with its vault, and a retention change replacing the vault. Played against the
subscription in tests/infra/azure_rules.py, which refuses what Azure refuses."""

from __future__ import annotations

import pytest

from offline import Recording, stack_names
from tests.infra.azure_rules import SECRET, VAULT, VAULT_NAME, Subscription


def vault(rec: Recording) -> str:
    return str(rec.one(VAULT).state["name"])


@pytest.mark.parametrize("stack", stack_names())
def test_destroy_then_up_works_with_no_manual_step(azure: Subscription, stack: str) -> None:
    first = vault(azure.up(stack))
    azure.destroy()
    second = vault(azure.up(stack))
    assert azure.refusals == [], "\n".join(map(str, azure.refusals))
    # The soft-deleted vault keeps its name (for the whole retention when purge-protected):
    # the new stack's vault must not need it.
    assert first in azure.soft_deleted_vaults
    assert second != first


def test_the_vault_name_follows_azure_rules_and_survives_an_update(azure: Subscription) -> None:
    created = vault(azure.up("dev"))
    assert VAULT_NAME.fullmatch(created)
    again = azure.up("dev")
    assert vault(again) == created
    assert azure.plans[-1][again.one(VAULT).urn] == "same"


def test_the_secret_goes_with_its_vault(recordings: dict[str, Recording]) -> None:
    for rec in recordings.values():
        secret, vault_resource = rec.one(SECRET), rec.one(VAULT)
        # Deleting it alone would need a Key Vault data role the deployer does not hold.
        assert secret.options.deleted_with == vault_resource.urn


def test_a_retention_change_replaces_the_vault_instead_of_failing(azure: Subscription) -> None:
    azure.up("dev")
    after = azure.up("dev", config_overrides={"keyVaultRetentionDays": 30})
    assert azure.refusals == [], "\n".join(map(str, azure.refusals))
    urn = after.one(VAULT).urn
    assert azure.plans[-1][urn] == "replace"
    assert after.one(VAULT).inputs["properties"]["softDeleteRetentionInDays"] == 30
    # Auto-named and created before the old one goes: Pulumi gives the replacement a new name,
    # so both can exist while the secret and its readers move over.
    assert "vaultName" not in after.one(VAULT).inputs
    assert not after.one(VAULT).options.delete_before_replace
