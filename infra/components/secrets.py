"""Key Vault (RBAC authorization, soft delete, purge protection per stack) holding the
Application Insights connection string, which the orchestrator reads with its identity.

Destroy, then up, must work with no manual step on every stack (docs/azure-behaviour.md, "Key
Vault"): a deleted vault is only soft-deleted and keeps its name for the retention period (for all
of it under purge protection), and azure-native never purges (pulumi-azure-native#1174). So the
vault is auto-named: Pulumi gives it the logical name plus a random suffix, kept in the state and
new for every create, and a re-created stack never needs the old name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault

from infra.placement import Placement


@dataclass
class SecretsArgs:
    placement: Placement
    tenant_id: pulumi.Input[str]
    purge_protection: bool
    retention_days: int
    app_insights_secret_name: str
    app_insights_connection_string: pulumi.Input[str]


class Secrets(pulumi.ComponentResource):
    vault_id: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    app_insights_secret_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:secrets:Secrets", name, None, opts)
        # "<name>-vault" + Pulumi's 8-character suffix fits the vault name rules (3-24 letters,
        # digits and hyphens, starting with a letter): keep the component's name short.
        vault = keyvault.Vault(
            f"{name}-vault",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                # Must be explicit: an unspecified value creates an access-policy vault.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.retention_days,
                # `false` is refused by Azure once set and irreversible when true: omit it in dev,
                # set it in prod. Either way the name of a destroyed vault stays taken, which
                # auto-naming makes harmless.
                enable_purge_protection=True if args.purge_protection else None,
                # ADF's Azure IR is not in the VNet, so the vault stays reachable publicly and
                # relies on RBAC (an UNCONFIRMED trade-off: docs/azure-behaviour.md,
                # "Unconfirmed").
                public_network_access="Enabled",
            ),
            tags=dict(args.placement.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                # Azure fixes the retention when the vault is created ("the retention policy
                # interval cannot be changed", docs/azure-behaviour.md): a new value means a new
                # vault, created before the old one goes (its auto-name is new), so
                # keyVaultRetentionDays can change like any other key.
                replace_on_changes=["properties.softDeleteRetentionInDays"],
            ),
        )
        secret = keyvault.Secret(
            f"{name}-appinsights",
            resource_group_name=args.placement.resource_group_name,
            vault_name=vault.name,
            secret_name=args.app_insights_secret_name,
            properties=keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(args.app_insights_connection_string),
                content_type="text/plain",
            ),
            # azure-native deletes a secret through the Key Vault data plane with the deployer's
            # token (pulumi-azure-native#2374), and the deployer holds no data role on the vault:
            # the secret goes with the vault instead, never on its own.
            opts=pulumi.ResourceOptions(parent=self, deleted_with=vault),
        )
        self.vault_id = vault.id
        self.vault_uri = vault.properties.vault_uri.apply(lambda uri: uri or "")
        self.app_insights_secret_name = secret.name
        self.register_outputs(
            {
                "vault_id": self.vault_id,
                "vault_uri": self.vault_uri,
                "app_insights_secret_name": self.app_insights_secret_name,
            }
        )
