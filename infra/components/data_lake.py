"""The data lake: an ADLS Gen2 account with Blob NFS 3.0, the `data` container, a sample bag.

NFS 3.0 is authorised by network rules only (no keys, no Entra ID), so the account denies every
network except the pools' subnet (service endpoint rule), trusted Azure services (ADF's ADLS
linked service) and the deployer ranges from config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
from pulumi_azure_native import storage

# HNS and NFS can only be set when the account is created; a change means a new account.
CREATE_ONLY = ["isHnsEnabled", "enableNfsV3", "kind"]


@dataclass
class DataLakeArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    account_name: pulumi.Input[str]
    sku: str
    subnet_id: pulumi.Input[str]
    container_name: str
    deployer_ip_rules: Sequence[str] = ()  # already in storage-rule form (see config)
    protect: bool = False
    # (blob name, local file) put into the container at deploy; None = no sample
    sample: tuple[str, Path] | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


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

        account = storage.StorageAccount(
            f"{name}-account",
            resource_group_name=args.resource_group_name,
            location=args.location,
            account_name=args.account_name,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=args.sku),
            is_hns_enabled=True,
            enable_nfs_v3=True,
            # Kept on: current docs don't require it off for NFS (checklist §1, UNCONFIRMED
            # which the service enforces); NFS traffic itself is not HTTPS and is unaffected.
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            # pulumi-azure-native's Blob resource uploads with the account key it lists at
            # deploy (pulumi-azure-native#2015), so shared keys are on only while this stack
            # uploads a sample; nothing else uses keys (ADF: managed identity, pools: NFS).
            allow_shared_key_access=args.sample is not None,
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
                    for rule in args.deployer_ip_rules
                ],
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self, protect=args.protect, replace_on_changes=CREATE_ONLY
            ),
        )
        container = storage.BlobContainer(
            f"{name}-container",
            resource_group_name=args.resource_group_name,
            account_name=account.name,
            container_name=args.container_name,
            public_access=storage.PublicAccess.NONE,
            opts=child,
        )
        if args.sample is not None:
            blob_name, path = args.sample
            storage.Blob(
                f"{name}-sample",
                resource_group_name=args.resource_group_name,
                account_name=account.name,
                container_name=container.name,
                blob_name=blob_name,
                type=storage.BlobType.BLOCK,
                content_type="application/octet-stream",
                source=pulumi.FileAsset(str(path)),
                # Data, not infrastructure: dropping the sample from config must not delete it
                # (and could not, once the firewall opening and shared keys are gone).
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
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
