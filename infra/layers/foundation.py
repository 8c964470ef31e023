"""What the other layers build on: the network, one identity per job, monitoring, the Key Vault
holding the Application Insights connection string, and the container registry."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra import names
from infra.components.identity import Identities, IdentitiesArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.network import Network, NetworkArgs
from infra.components.registry import Registry, RegistryArgs
from infra.components.secrets import Secrets, SecretsArgs
from infra.config import StackConfig
from infra.layers import moved_under
from infra.placement import Placement


@dataclass
class FoundationArgs:
    placement: Placement
    config: StackConfig
    tenant_id: pulumi.Input[str]
    registry_name: pulumi.Input[str]


class Foundation(pulumi.ComponentResource):
    network: Network
    identities: Identities
    monitoring: Monitoring
    secrets: Secrets
    registry: Registry

    def __init__(
        self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:layers:Foundation", name, None, opts)
        place, config = args.placement, args.config
        self.network = Network(
            "network",
            NetworkArgs(
                placement=place,
                address_space=config.vnet_address_space,
                subnet_prefix=config.subnet_address_prefix,
            ),
            moved_under(self),
        )
        self.identities = Identities("identity", IdentitiesArgs(placement=place), moved_under(self))
        self.monitoring = Monitoring(
            "monitoring",
            MonitoringArgs(placement=place, retention_days=config.log_retention_days),
            moved_under(self),
        )
        self.secrets = Secrets(
            "secrets",
            SecretsArgs(
                placement=place,
                tenant_id=args.tenant_id,
                purge_protection=config.key_vault_purge_protection,
                retention_days=config.key_vault_retention_days,
                app_insights_secret_name=names.APP_INSIGHTS_SECRET_NAME,
                app_insights_connection_string=self.monitoring.connection_string,
            ),
            moved_under(self),
        )
        self.registry = Registry(
            "registry",
            RegistryArgs(placement=place, registry_name=args.registry_name),
            moved_under(self),
        )
        self.register_outputs(
            {
                "subnet_id": self.network.subnet_id,
                "vault_uri": self.secrets.vault_uri,
                "registry_login_server": self.registry.login_server,
            }
        )
