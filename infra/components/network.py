"""The pools' network: one VNet with one subnet, an NSG, and a NAT gateway for egress.

Nodes have no public IPs (`NoPublicIPAddresses`) and Azure's default outbound access is retired,
so the NAT gateway with a static public IP is the nodes' only way out (Batch node management,
ACR, Key Vault, package mirrors); `defaultOutboundAccess: false` makes that explicit whatever the
API version's default.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from infra.placement import Placement

# Service endpoints: Storage is required for the data lake's VNet rule (NFS is authorised by
# network rules only); Key Vault and Container Registry keep those calls on the Azure backbone.
SERVICE_ENDPOINTS = ("Microsoft.Storage", "Microsoft.KeyVault", "Microsoft.ContainerRegistry")


@dataclass
class NetworkArgs:
    placement: Placement
    address_space: str
    subnet_prefix: str


def _outbound(
    name: str, priority: int, service_tag: str, ports: list[str], why: str
) -> network.SecurityRuleArgs:
    return network.SecurityRuleArgs(
        name=name,
        priority=priority,
        direction=network.SecurityRuleDirection.OUTBOUND,
        access=network.SecurityRuleAccess.ALLOW,
        protocol=network.SecurityRuleProtocol.TCP,
        source_address_prefix="VirtualNetwork",
        source_port_range="*",
        destination_address_prefix=service_tag,
        destination_port_ranges=ports,
        description=why,
    )


def security_rules() -> list[network.SecurityRuleArgs]:
    """Simplified node communication needs no inbound rule, only outbound 443 to Batch node
    management; the workload adds storage (app packages, NFS on 111/2048), ACR and Key Vault.
    The explicit allows document and pin what the nodes need even if a deny is added later.

    Global service tags, not the regional `<Tag>.<region>` ones: the regional names' spelling
    (`Storage.WestEurope` vs the location `westeurope`) is UNCONFIRMED to be accepted in any
    case (docs/azure-behaviour.md, "Unconfirmed"), and a rejected tag would fail the deployment;
    the data lake is in the stack's region either way."""
    rules = [
        _outbound(
            "batch-node-management",
            100,
            "BatchNodeManagement",
            ["443"],
            "Simplified node communication: nodes call the Batch service",
        ),
        _outbound(
            "storage-nfs-and-https",
            110,
            "Storage",
            ["443", "111", "2048"],
            "NFS 3.0 mount of the data lake (111, 2048) and app packages/output files (443)",
        ),
        _outbound(
            "container-registry",
            120,
            "AzureContainerRegistry",
            ["443"],
            "Pull the processor image from ACR",
        ),
        _outbound(
            "key-vault-and-monitor",
            130,
            "AzureKeyVault",
            ["443"],
            "The orchestrator reads the Application Insights connection string",
        ),
        _outbound(
            "azure-monitor", 140, "AzureMonitor", ["443"], "Telemetry to Application Insights"
        ),
    ]
    inbound_deny = network.SecurityRuleArgs(
        name="deny-internet-inbound",
        priority=4000,
        direction=network.SecurityRuleDirection.INBOUND,
        access=network.SecurityRuleAccess.DENY,
        protocol=network.SecurityRuleProtocol.ASTERISK,
        source_address_prefix="Internet",
        source_port_range="*",
        destination_address_prefix="*",
        destination_port_range="*",
        description="Simplified communication needs no inbound connection to the nodes",
    )
    return [*rules, inbound_deny]


class Network(pulumi.ComponentResource):
    vnet_id: pulumi.Output[str]
    subnet_id: pulumi.Output[str]
    egress_ip: pulumi.Output[str]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.placement.tags)

        egress_ip, nat = self._egress(name, args)
        nsg = network.NetworkSecurityGroup(
            f"{name}-nsg",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            security_rules=security_rules(),
            tags=tags,
            opts=child,
        )
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
            tags=tags,
            opts=child,
        )
        subnet = network.Subnet(
            f"{name}-pools",
            resource_group_name=args.placement.resource_group_name,
            virtual_network_name=vnet.name,
            subnet_name="pools",
            address_prefix=args.subnet_prefix,
            service_endpoints=[
                network.ServiceEndpointPropertiesFormatArgs(service=s) for s in SERVICE_ENDPOINTS
            ],
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            nat_gateway=network.SubResourceArgs(id=nat.id),
            default_outbound_access=False,
            opts=child,
        )

        self.vnet_id = vnet.id
        self.subnet_id = subnet.id
        self.egress_ip = egress_ip.ip_address.apply(lambda ip: ip or "")
        self.register_outputs(
            {"vnet_id": self.vnet_id, "subnet_id": self.subnet_id, "egress_ip": self.egress_ip}
        )

    def _egress(
        self, name: str, args: NetworkArgs
    ) -> tuple[network.PublicIPAddress, network.NatGateway]:
        """The nodes' only way out: a NAT gateway with one static public IP."""
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.placement.tags)
        egress_ip = network.PublicIPAddress(
            f"{name}-egress-ip",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            sku=network.PublicIPAddressSkuArgs(name=network.PublicIPAddressSkuName.STANDARD),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            tags=tags,
            opts=child,
        )
        nat = network.NatGateway(
            f"{name}-nat",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            sku=network.NatGatewaySkuArgs(name=network.NatGatewaySkuName.STANDARD),
            public_ip_addresses=[network.SubResourceArgs(id=egress_ip.id)],
            idle_timeout_in_minutes=10,
            tags=tags,
            opts=child,
        )
        return egress_ip, nat
