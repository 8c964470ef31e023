"""Role assignments for one principal: one per (role, resource), each scoped to the single
resource that needs it and carrying its reason (also written to the assignment's description)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

# Built-in role definition GUIDs (learn.microsoft.com/azure/role-based-access-control/
# built-in-roles).
ROLE_IDS: dict[str, str] = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "Key Vault Secrets User": "4633458b-17de-408a-b874-0445c86b69e6",
    "Azure Batch Job Submitter": "48e5e92e-a480-4e71-aa9c-2778f4c13781",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
}

# Fixed namespace so the same (scope, role, principal) always gives the same assignment name:
# a re-run updates the assignment in place instead of failing with RoleAssignmentExists.
_ASSIGNMENT_NAMESPACE = uuid.UUID("0b6f5a52-8f4e-4c11-9a55-3a3f6d1c2e77")


# The public client apps people sign in through (first-party Microsoft application ids): a
# deployer signed in through one of them is a user; any other client id is a service principal
# or managed identity signing in as itself (CI).
_USER_SIGN_IN_APPS = frozenset(
    {
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46",  # Azure CLI
        "1950a258-227b-4e31-a9cf-717495945fc2",  # Azure PowerShell
        "aebc6443-996d-45c2-90f0-388ff96faa56",  # Visual Studio Code
    }
)


def deployer_principal_type(client_id: str, configured: str = "") -> authorization.PrincipalType:
    """The principalType of the deployer's role assignments.

    It must be right: azure-native sends `User` when none is given
    (pulumi_azure_native/authorization/role_assignment.py:261), and Azure refuses an assignment
    whose principalType differs from the principal's ("UnmatchedPrincipalType",
    Azure/modern-web-app-pattern-dotnet#129).
    """
    if configured:
        return authorization.PrincipalType(configured)
    if client_id.lower() in _USER_SIGN_IN_APPS:
        return authorization.PrincipalType.USER
    return authorization.PrincipalType.SERVICE_PRINCIPAL


def assignment_name(scope: str, role_guid: str, principal_id: str) -> str:
    return str(uuid.uuid5(_ASSIGNMENT_NAMESPACE, f"{scope.lower()}|{role_guid}|{principal_id}"))


def role_definition_id(subscription_id: str, role: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/"
        f"roleDefinitions/{ROLE_IDS[role]}"
    )


# ABAC conditions: "Currently the only accepted value is '2.0'" (azure-native
# authorization/role_assignment.py, condition_version).
CONDITION_VERSION = "2.0"
# The data actions of Storage Blob Data Contributor
# (learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage).
_BLOB_ACTIONS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
_BLOB_PATH = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]"


def blob_prefix_condition(prefix: str) -> str:
    """A role assignment condition admitting the role's blob actions under `prefix` only.

    The form of Microsoft's example "Read, write, or delete blobs in named containers with a
    path" (learn.microsoft.com/azure/storage/blobs/storage-auth-abac-examples): each action is
    allowed only where the blob's path starts with `prefix`; listing (read's Blob.List
    suboperation) has no blob path, so it is left out of the condition, as there, and lists
    the container's names anywhere (delta-rs lists a table's _delta_log/ to find its version).
    """
    if not prefix.endswith("/") or prefix.startswith("/") or "'" in prefix:
        raise ValueError(f"blob prefix {prefix!r}: expected a folder such as lake/")
    refused = [
        f"!(ActionMatches{{'{_BLOB_ACTIONS}/read'}} AND NOT SubOperationMatches{{'Blob.List'}})",
        *(
            f"!(ActionMatches{{'{_BLOB_ACTIONS}/{action}'}})"
            for action in ("write", "delete", "add/action", "move/action")
        ),
    ]
    return f"(({' AND '.join(refused)}) OR ({_BLOB_PATH} StringStartsWith '{prefix}'))"


@dataclass(frozen=True)
class Grant:
    key: str  # short, stable: part of the logical name
    role: str  # a key of ROLE_IDS
    scope: pulumi.Input[str]  # the one resource id the role applies to
    reason: str
    # An ABAC condition narrowing the role inside its scope (blob_prefix_condition); "" none.
    condition: str = ""


@dataclass
class AccessGrantsArgs:
    principal_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    grants: Sequence[Grant]
    # Managed identities are service principals; saying so skips the directory lookup that fails
    # while a brand-new identity is still replicating. The deployer's comes from
    # deployer_principal_type.
    principal_type: pulumi.Input[authorization.PrincipalType] = (
        authorization.PrincipalType.SERVICE_PRINCIPAL
    )


class AccessGrants(pulumi.ComponentResource):
    assignments: dict[str, authorization.RoleAssignment]

    def __init__(
        self, name: str, args: AccessGrantsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:access:AccessGrants", name, None, opts)
        self.assignments = {}
        for grant in args.grants:
            if grant.role not in ROLE_IDS:
                raise ValueError(f"grant {grant.key}: unknown role {grant.role!r}")
            role_guid = ROLE_IDS[grant.role]
            self.assignments[grant.key] = authorization.RoleAssignment(
                f"{name}-{grant.key}",
                role_assignment_name=pulumi.Output.all(
                    pulumi.Output.from_input(grant.scope), args.principal_id
                ).apply(lambda v, g=role_guid: assignment_name(str(v[0]), g, str(v[1]))),
                scope=grant.scope,
                role_definition_id=pulumi.Output.from_input(args.subscription_id).apply(
                    lambda sub, r=grant.role: role_definition_id(sub, r)
                ),
                principal_id=args.principal_id,
                principal_type=args.principal_type,
                description=grant.reason,
                condition=grant.condition or None,
                condition_version=CONDITION_VERSION if grant.condition else None,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"count": len(self.assignments)})
