"""The one user-assigned identity shared by the Batch account, both pools and the Data Factory.

One identity everywhere is the fix for ADF's "Cannot create Shared Access Signature unless
Account Key credentials are used" (checklist pitfall 1): the factory's credential, the Batch
account's auto-storage identity, the node identity and the pools' identity must all be the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import managedidentity


@dataclass
class SharedIdentityArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str] = field(default_factory=dict)


class SharedIdentity(pulumi.ComponentResource):
    id: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    client_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: SharedIdentityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:identity:SharedIdentity", name, None, opts)
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-uami",
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.id = identity.id
        self.principal_id = identity.principal_id
        self.client_id = identity.client_id
        self.register_outputs(
            {"id": self.id, "principal_id": self.principal_id, "client_id": self.client_id}
        )
