"""The container registry for the processor image; pools pull it with the shared identity."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import containerregistry

from infra.placement import Placement


@dataclass
class RegistryArgs:
    placement: Placement
    registry_name: pulumi.Input[str]


class Registry(pulumi.ComponentResource):
    resource: containerregistry.Registry  # for `replace_with`: what lives in it goes with it
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    login_server: pulumi.Output[str]

    def __init__(
        self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:registry:Registry", name, None, opts)
        registry = containerregistry.Registry(
            f"{name}-acr",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            registry_name=args.registry_name,
            sku=containerregistry.SkuArgs(name=containerregistry.SkuName.BASIC),
            admin_user_enabled=False,  # pulls use the identity's AcrPull, never a password
            # ACR Tasks builds fail when public access is off (Azure/acr#762); Basic has no
            # network rules anyway. The role assignment mode stays at its default (not ABAC),
            # where AcrPull is honoured.
            public_network_access=containerregistry.PublicNetworkAccess.ENABLED,
            tags=dict(args.placement.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.resource = registry
        self.id = registry.id
        self.name = registry.name
        self.login_server = registry.login_server
        self.register_outputs({"id": self.id, "name": self.name, "login_server": self.login_server})
