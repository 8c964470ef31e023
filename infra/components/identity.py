"""The stack's user-assigned identities, one per job, so each holds only what its job needs.

Any task on a Batch node can get a token for the pool's identities from the node's metadata
endpoint, so what an identity may do, the code running there may do (docs/azure-behaviour.md,
"Identities and roles"). The processor parses untrusted bags: its identity must not be able to
touch the Batch account or anything else. Hence four identities:

- `execution`: the execution pool's (processor containers). Pulls the image, writes task logs.
- `orchestrator`: the orchestrator pool's. Submits and watches its Batch job, reads the App
  Insights secret; it is also the auto-storage node identity (downloads the application package).
- `batch_account`: the Batch account's, with which Batch manages its auto-storage account.
- `factory`: the Data Factory's, the credential of its linked services.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import managedidentity

from infra.placement import Placement


@dataclass
class IdentitiesArgs:
    placement: Placement


@dataclass(frozen=True)
class Identity:
    """What the rest of the program needs of one user-assigned identity."""

    id: pulumi.Output[str]  # ARM resource id (pool, account and factory identity references)
    principal_id: pulumi.Output[str]  # the object id role assignments name
    client_id: pulumi.Output[str]  # what code on a node passes to ManagedIdentityCredential


class Identities(pulumi.ComponentResource):
    execution: Identity
    orchestrator: Identity
    batch_account: Identity
    factory: Identity

    def __init__(
        self, name: str, args: IdentitiesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:identity:Identities", name, None, opts)

        def identity(role: str) -> Identity:
            uami = managedidentity.UserAssignedIdentity(
                f"{name}-{role}",
                resource_group_name=args.placement.resource_group_name,
                location=args.placement.location,
                tags=dict(args.placement.tags),
                opts=pulumi.ResourceOptions(parent=self),
            )
            return Identity(uami.id, uami.principal_id, uami.client_id)

        self.execution = identity("execution")
        self.orchestrator = identity("orchestrator")
        self.batch_account = identity("batch-account")
        self.factory = identity("factory")
        self.register_outputs(
            {
                role: {"id": i.id, "principal_id": i.principal_id, "client_id": i.client_id}
                for role, i in (
                    ("execution", self.execution),
                    ("orchestrator", self.orchestrator),
                    ("batch_account", self.batch_account),
                    ("factory", self.factory),
                )
            }
        )
