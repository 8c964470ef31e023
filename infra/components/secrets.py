"""Key Vault (RBAC authorization, soft delete, purge protection per stack) holding the
Application Insights connection string, which the orchestrator reads with the shared identity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import keyvault


@dataclass
class SecretsArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    vault_name: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    purge_protection: bool
    retention_days: int
    app_insights_secret_name: str
    app_insights_connection_string: pulumi.Input[str]
    tags: Mapping[str, str] = field(default_factory=dict)


class Secrets(pulumi.ComponentResource):
    vault_id: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    app_insights_secret_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:secrets:Secrets", name, None, opts)
        vault = keyvault.Vault(
            f"{name}-vault",
            resource_group_name=args.resource_group_name,
            location=args.location,
            vault_name=args.vault_name,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                # Must be explicit: an unspecified value creates an access-policy vault.
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.retention_days,
                # `false` is refused by Azure once set and irreversible when true: omit it in dev
                # (so destroy + up reuses the name after a purge), set it in prod.
                enable_purge_protection=True if args.purge_protection else None,
                # ADF's Azure IR is not in the VNet, so the vault stays reachable publicly and
                # relies on RBAC (UNCONFIRMED trade-off, checklist §8).
                public_network_access="Enabled",
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        secret = keyvault.Secret(
            f"{name}-appinsights",
            resource_group_name=args.resource_group_name,
            vault_name=vault.name,
            secret_name=args.app_insights_secret_name,
            properties=keyvault.SecretPropertiesArgs(
                value=pulumi.Output.secret(args.app_insights_connection_string),
                content_type="text/plain",
            ),
            opts=pulumi.ResourceOptions(parent=self),
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
