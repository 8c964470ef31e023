"""The option for downstream Copy and Data Flow activities on the firewalled lake: ADF's managed
virtual network, an Azure integration runtime inside it, managed private endpoints to the data
lake (dfs and blob), and a linked service that connects through that runtime.

The extraction itself never uses it (the Custom activity runs on Batch, which mounts the lake
over NFS from the pools' subnet); this is parity with the original sample's Terraform, for
users who add their own Copy or Data Flow activities (learn.microsoft.com/azure/data-factory/
managed-virtual-network-private-endpoint).

- The managed virtual network has no azure-native resource (pulumi-azure-native#896: the ARM
  type `Microsoft.DataFactory/factories/managedVirtualNetworks` is not in the provider), so it is
  declared through an ARM template deployment (`resources.Deployment`, Incremental), the
  workaround the ADF docs' own template uses. Its name must be `default`, and the REST API has
  no delete: it goes with the factory (hashicorp/terraform-provider-azurerm#12343, "there is no
  rest api to delete managed virtual network").
- Each managed private endpoint creates a private endpoint connection on the storage account in
  the Pending state: the storage account's owner approves it once (README "Verified only on
  Azure"); until then the runtime cannot reach the lake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi_azure_native import datafactory as adf
from pulumi_azure_native import resources

MANAGED_VNET_NAME = "default"  # the only name ADF accepts
RUNTIME_NAME = "managed-vnet-runtime"
LINKED_SERVICE_NAME = "data-lake-managed-vnet"
# A data lake (HNS) serves the Blob API and the DFS API from two endpoints; Copy and Data Flow
# use either, so both get a private endpoint (group ids of a storage account: blob, dfs, ...).
ENDPOINT_GROUPS = ("dfs", "blob")
_API_VERSION = "2018-06-01"


@dataclass
class ManagedVnetArgs:
    resource_group_name: pulumi.Input[str]
    factory_name: pulumi.Input[str]
    data_lake_account_id: pulumi.Input[str]
    data_lake_dfs_endpoint: pulumi.Input[str]
    tags: dict[str, str] = field(default_factory=dict)


def managed_vnet_template(factory_name: str) -> dict[str, Any]:
    """The ARM template of the factory's managed virtual network (its properties are empty)."""
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.DataFactory/factories/managedVirtualNetworks",
                "apiVersion": _API_VERSION,
                "name": f"{factory_name}/{MANAGED_VNET_NAME}",
                "properties": {},
            }
        ],
    }


class ManagedVnet(pulumi.ComponentResource):
    runtime_name: pulumi.Output[str]
    linked_service_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: ManagedVnetArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:datafactory:ManagedVnet", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        network = resources.Deployment(
            f"{name}-network",
            resource_group_name=args.resource_group_name,
            properties=resources.DeploymentPropertiesArgs(
                mode=resources.DeploymentMode.INCREMENTAL,
                template=pulumi.Output.from_input(args.factory_name).apply(managed_vnet_template),
            ),
            tags=args.tags,
            opts=child,
        )
        after_network = pulumi.ResourceOptions(parent=self, depends_on=[network])
        runtime = _runtime(name, args, after_network)
        endpoints = [_endpoint(name, args, group, after_network) for group in ENDPOINT_GROUPS]
        linked = _linked_service(
            name, args, pulumi.ResourceOptions(parent=self, depends_on=[runtime, *endpoints])
        )
        self.runtime_name = runtime.name
        self.linked_service_name = linked.name
        self.register_outputs(
            {"runtime_name": self.runtime_name, "linked_service_name": self.linked_service_name}
        )


def _runtime(
    name: str, args: ManagedVnetArgs, opts: pulumi.ResourceOptions
) -> adf.IntegrationRuntime:
    return adf.IntegrationRuntime(
        f"{name}-runtime",
        resource_group_name=args.resource_group_name,
        factory_name=args.factory_name,
        integration_runtime_name=RUNTIME_NAME,
        properties=adf.ManagedIntegrationRuntimeArgs(
            type="Managed",
            description="Azure IR in the managed virtual network, for Copy and Data Flow.",
            managed_virtual_network=adf.ManagedVirtualNetworkReferenceArgs(
                reference_name=MANAGED_VNET_NAME, type="ManagedVirtualNetworkReference"
            ),
            compute_properties=adf.IntegrationRuntimeComputePropertiesArgs(location="AutoResolve"),
        ),
        opts=opts,
    )


def _endpoint(
    name: str, args: ManagedVnetArgs, group: str, opts: pulumi.ResourceOptions
) -> adf.ManagedPrivateEndpoint:
    return adf.ManagedPrivateEndpoint(
        f"{name}-lake-{group}",
        resource_group_name=args.resource_group_name,
        factory_name=args.factory_name,
        managed_virtual_network_name=MANAGED_VNET_NAME,
        managed_private_endpoint_name=f"data-lake-{group}",
        properties=adf.ManagedPrivateEndpointArgs(
            group_id=group, private_link_resource_id=args.data_lake_account_id
        ),
        opts=opts,
    )


def _linked_service(
    name: str, args: ManagedVnetArgs, opts: pulumi.ResourceOptions
) -> adf.LinkedService:
    """ADLS Gen2 with the factory's system-assigned identity, as the `data-lake` linked service,
    but through the managed runtime, so the lake's firewall sees the private endpoints."""
    return adf.LinkedService(
        f"{name}-data-lake",
        resource_group_name=args.resource_group_name,
        factory_name=args.factory_name,
        linked_service_name=LINKED_SERVICE_NAME,
        properties=adf.AzureBlobFSLinkedServiceArgs(
            type="AzureBlobFS",
            url=args.data_lake_dfs_endpoint,
            connect_via=adf.IntegrationRuntimeReferenceArgs(
                reference_name=RUNTIME_NAME,
                type=adf.IntegrationRuntimeReferenceType.INTEGRATION_RUNTIME_REFERENCE,
            ),
        ),
        opts=opts,
    )
