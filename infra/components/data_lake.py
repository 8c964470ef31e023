"""The data lake: an ADLS Gen2 account with Blob NFS 3.0 and the `data` container.

NFS 3.0 is authorised by network rules only (no keys, no Entra ID), so the account denies every
network except the pools' subnet (service endpoint rule), trusted Azure services (the factory,
which also seeds the sample bag: infra/components/sample_data.py) and the IP ranges from config.
Shared keys are off: everything that reaches blobs uses Entra ID.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from infra.placement import Placement

# HNS and NFS can only be set when the account is created; a change means a new account.
CREATE_ONLY = ["isHnsEnabled", "enableNfsV3", "kind"]


@dataclass
class DataLakeArgs:
    placement: Placement
    account_name: pulumi.Input[str]
    sku: str
    subnet_id: pulumi.Input[str]
    container_name: str
    ip_rules: Sequence[str] = ()  # uploaders' ranges, already in storage-rule form (see config)
    protect: bool = False


class DataLake(pulumi.ComponentResource):
    account_id: pulumi.Output[str]
    account_name: pulumi.Output[str]
    dfs_endpoint: pulumi.Output[str]
    container_id: pulumi.Output[str]  # role scope for what reads or writes blobs in it
    container_name: pulumi.Output[str]
    nfs_source: pulumi.Output[str]

    def __init__(
        self, name: str, args: DataLakeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:storage:DataLake", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        account = self._account(name, args)
        container = storage.BlobContainer(
            f"{name}-container",
            resource_group_name=args.placement.resource_group_name,
            account_name=account.name,
            container_name=args.container_name,
            public_access=storage.PublicAccess.NONE,
            opts=child,
        )
        self.account_id = account.id
        self.account_name = account.name
        self.dfs_endpoint = account.primary_endpoints.dfs
        self.container_id = container.id
        self.container_name = container.name
        # Only the container root can be mounted: <account>.blob.core.windows.net:/<account>/<c>
        self.nfs_source = pulumi.Output.concat(
            account.name, ".blob.core.windows.net:/", account.name, "/", container.name
        )
        self.register_outputs(
            {
                "account_id": self.account_id,
                "account_name": self.account_name,
                "dfs_endpoint": self.dfs_endpoint,
                "container_id": self.container_id,
                "container_name": self.container_name,
                "nfs_source": self.nfs_source,
            }
        )

    def _account(self, name: str, args: DataLakeArgs) -> storage.StorageAccount:
        """HNS and NFS 3.0 on, no keys, and no network but the pools' subnet, trusted Azure
        services and the uploaders' ranges."""
        return storage.StorageAccount(
            f"{name}-account",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            account_name=args.account_name,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=args.sku),
            is_hns_enabled=True,
            enable_nfs_v3=True,
            # Kept on: current docs don't require it off for NFS, though Microsoft's REST example
            # NfsV3AccountCreate sets it false (UNCONFIRMED which the service enforces:
            # docs/azure-behaviour.md, "Unconfirmed"); NFS traffic itself is not HTTPS.
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            # Nothing uses keys: ADF and uploaders sign in with Entra ID, pools use NFS.
            allow_shared_key_access=False,
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action=storage.DefaultAction.DENY,  # NFS requires Deny + a VNet rule
                bypass=storage.Bypass.AZURE_SERVICES,
                virtual_network_rules=[
                    storage.VirtualNetworkRuleArgs(
                        virtual_network_resource_id=args.subnet_id,
                        action=storage.Action.ALLOW,
                    )
                ],
                ip_rules=[
                    storage.IPRuleArgs(i_p_address_or_range=rule, action=storage.Action.ALLOW)
                    for rule in args.ip_rules
                ],
            ),
            tags=dict(args.placement.tags),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, replace_on_changes=CREATE_ONLY
            ),
        )
