"""Azure's refusals, played against the real program under the offline mocks.

The offline mocks (offline/mocks.py) accept any registration: they encode what the program asks
for, not what Azure allows. This module adds what Azure refuses, each rule with its source beside
it, over a sequence of deployments of one stack into one (simulated) subscription:

- `Subscription.up(stack)`: a `pulumi up` from the program. With a previous state, each resource
  in both is an update or a replacement (Pulumi's `replaceOnChanges` and the provider's own
  create-only inputs decide which), and the update rules below apply; everything else is a create.
- `Subscription.destroy()`: a `pulumi destroy` of the last state, honouring `deletedWith`.

Resources Azure keeps after a delete (soft-deleted Key Vaults) stay in the subscription, so a
later `up` sees them, as a real one does. A refused operation is recorded in `refusals` (what
Azure would answer) rather than raised, so a test can show every one at once.

It rides on the offline engine: each deployment is a `run_stack` answered by a subclass of
`OfflineMocks` that adds the create rules.

Pulumi's auto-naming is simulated as Pulumi does it: the logical name and a random suffix, new for
every create (pulumi.com/docs/iac/concepts/resources/names, "Autonaming"); the offline mocks'
stand-in is deterministic instead, for stable previews.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks

from offline import MOCK_DEPLOYER_OBJECT_ID, OfflineMocks, RecordedResource, Recording, run_stack

VAULT = "azure-native:keyvault:Vault"
SECRET = "azure-native:keyvault:Secret"
POOL = "azure-native:batch:Pool"
REGISTRY = "azure-native:containerregistry:Registry"
BATCH_ACCOUNT = "azure-native:batch:BatchAccount"
IMAGE = "pulumi-python:dynamic/rosbag:ProcessorImage"
PACKAGE = "pulumi-python:dynamic/rosbag:OrchestratorPackage"
ROLE = "azure-native:authorization:RoleAssignment"
FACTORY = "azure-native:datafactory:Factory"
LINKED_SERVICE = "azure-native:datafactory:LinkedService"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
# Built-in roles that may write blobs: Storage Blob Data Contributor and Owner
# (learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage).
_LAKE_WRITERS = ("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b")
# Built-in roles with Microsoft.KeyVault/vaults/secrets/delete as a data action
# (learn.microsoft.com/azure/role-based-access-control/built-in-roles/security).
KEY_VAULT_SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
KEY_VAULT_ADMINISTRATOR = "00482a5a-887f-4fb3-b363-3b7fe8e74483"

# Key Vault names: 3-24 characters, letters, digits and hyphens, starting with a letter, ending
# with a letter or digit, no consecutive hyphens
# (learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules,
# "Microsoft.KeyVault").
VAULT_NAME = re.compile(r"(?!.*--)[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]")

# Inputs the provider itself treats as create-only: a change means a new resource whatever the
# program says (the physical name of every azure-native resource is part of its ARM id).
_NAME_INPUTS = {VAULT: "vaultName", SECRET: "secretName", POOL: "poolName"}


@dataclass(frozen=True)
class Refusal:
    operation: str  # create | update | delete
    resource: str  # logical name
    code: str
    message: str
    source: str

    def __str__(self) -> str:
        return f"{self.operation} {self.resource}: {self.code}: {self.message} ({self.source})"


@dataclass
class Subscription:
    """One Azure subscription seen by successive deployments of one stack."""

    soft_deleted_vaults: set[str] = field(default_factory=set)
    refusals: list[Refusal] = field(default_factory=list)
    state: Recording | None = None  # what the last `up` left
    plans: list[dict[str, str]] = field(default_factory=list)  # urn -> create|update|replace

    def refuse(self, operation: str, resource: str, code: str, message: str, source: str) -> None:
        refusal = Refusal(operation, resource, code, message, source)
        if refusal not in self.refusals:  # the SDK may register a resource's state twice
            self.refusals.append(refusal)

    # ---- pulumi up ----------------------------------------------------------------------------

    def up(
        self,
        stack: str,
        config_overrides: Mapping[str, Any] | None = None,
        replace: tuple[str, ...] = (),
    ) -> Recording:
        """`pulumi up`; `replace` lists logical names to replace, as `pulumi up --replace` does
        (or Azure-side drift that forces a new resource)."""
        previous = {r.urn: r for r in self.state.resources} if self.state else {}
        recording, plan = self._run(stack, config_overrides, previous, renamed=set())
        # A replaced auto-named resource gets a new name from Pulumi (that is what lets the new
        # one exist beside the old): run again with those names fresh, as the engine would.
        replaced = {
            r.name
            for r in recording.of_type(VAULT)
            if plan.get(r.urn) == "replace" and "vaultName" not in r.inputs
        }
        if replaced:
            recording, plan = self._run(stack, config_overrides, previous, renamed=replaced)
        self._replace(recording, plan, replace)
        for rule in PLAN_RULES:
            rule(self, recording, plan)
        for resource in recording.resources:
            if plan.get(resource.urn) == "update":
                for rule in UPDATE_RULES:
                    rule(self, previous[resource.urn], resource)
        self.plans.append(plan)
        self.state = recording
        return recording

    def _run(
        self,
        stack: str,
        config_overrides: Mapping[str, Any] | None,
        previous: Mapping[str, RecordedResource],
        renamed: set[str],
    ) -> tuple[Recording, dict[str, str]]:
        recording = run_stack(
            stack, config_overrides=config_overrides, mocks=_rule_mocks(self, previous, renamed)
        )
        plan = {
            r.urn: _action(previous[r.urn], r) if r.urn in previous else "create"
            for r in recording.resources
            if r.custom
        }
        return recording, plan

    def _replace(self, recording: Recording, plan: dict[str, str], names: tuple[str, ...]) -> None:
        """Mark `names` replaced, then everything whose replaceWith names a replaced resource
        (pulumi.com/docs/iac/concepts/resources/options/replacewith)."""
        for resource in recording.resources:
            if resource.name in names and plan.get(resource.urn) not in (None, "create"):
                plan[resource.urn] = "replace"
        changed = True
        while changed:
            changed = False
            for resource in recording.resources:
                targets = resource.options.replace_with
                if plan.get(resource.urn) not in (None, "replace", "create") and any(
                    plan.get(t) == "replace" for t in targets
                ):
                    plan[resource.urn], changed = "replace", True

    # ---- pulumi destroy -----------------------------------------------------------------------

    def destroy(self) -> None:
        if self.state is None:
            return
        condemned = {r.urn for r in self.state.resources}
        for resource in reversed(self.state.resources):
            if not resource.custom:
                continue
            # "If set, the providers Delete method will not be called for this resource if the
            # specified resource is being deleted as well"
            # (pulumi.com/docs/iac/concepts/resources/options/deletedwith).
            if resource.options.deleted_with and resource.options.deleted_with in condemned:
                continue
            for rule in DELETE_RULES:
                rule(self, self.state, resource)
        self.state = None


def _rule_mocks(
    subscription: Subscription, previous: Mapping[str, RecordedResource], renamed: set[str]
) -> type[OfflineMocks]:
    """The offline mocks, plus the create rules and Pulumi-like auto-naming of vaults."""

    class RuleMocks(OfflineMocks):
        def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
            if args.typ == VAULT and not args.inputs.get("vaultName"):
                args = _autonamed_vault(args, {} if args.name in renamed else previous)
            resource_id, state = super().new_resource(args)
            if args.typ == VAULT:
                _create_vault(subscription, args.name, str(state["name"]), previous)
            return resource_id, state

    return RuleMocks


def _autonamed_vault(
    args: pulumi_mocks.MockResourceArgs, previous: Mapping[str, RecordedResource]
) -> pulumi_mocks.MockResourceArgs:
    """Pulumi's auto-name: kept from the state on an update, new (random) on every create."""
    kept = next(
        (r.state["name"] for r in previous.values() if r.type == VAULT and r.name == args.name),
        None,
    )  # an update keeps the name; a create or a replacement (previous={}) draws a new one
    name = kept or f"{args.name}{secrets.token_hex(4)}"
    return pulumi_mocks.MockResourceArgs(
        typ=args.typ,
        name=args.name,
        inputs={**args.inputs, "vaultName": name},
        provider=args.provider,
        resource_id=args.resource_id,
        custom=args.custom,
    )


def _create_vault(
    subscription: Subscription, logical: str, name: str, previous: Mapping[str, RecordedResource]
) -> None:
    if not VAULT_NAME.fullmatch(name):
        subscription.refuse(
            "create",
            logical,
            "VaultNameNotValid",
            f"{name!r} breaks the vault name rules",
            "learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules",
        )
    existing = {r.state["name"] for r in previous.values() if r.type == VAULT}
    if name in subscription.soft_deleted_vaults and name not in existing:
        # "You cannot reuse the name of a key vault that has been soft-deleted until the
        # retention period has passed" (MicrosoftDocs/azure-docs b94bc61, key-vault-ovw-soft-
        # delete.md); azure-native never purges on delete (pulumi-azure-native#1174).
        subscription.refuse(
            "create",
            logical,
            "ConflictError",
            f"a vault named {name} exists in the deleted state",
            "learn.microsoft.com/azure/key-vault/general/soft-delete-change; "
            "pulumi-azure-native#1174",
        )


# ---- what an update changes ------------------------------------------------------------------


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the inputs that differ (a changed list counts as its own path)."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        paths: list[str] = []
        for key in sorted(set(old) | set(new)):
            paths += changed_paths(old.get(key), new.get(key), f"{prefix}{key}.")
        return paths
    return [] if old == new else [prefix.rstrip(".")]


def _matches(pattern: str, path: str) -> bool:
    return (
        pattern == "*"
        or path == pattern
        or path.startswith(pattern + ".")
        or pattern.startswith(path + ".")
    )


def _action(old: RecordedResource, new: RecordedResource) -> str:
    changes = changed_paths(_comparable(old.inputs), _comparable(new.inputs))
    if not changes:
        return "same"
    name_input = _NAME_INPUTS.get(new.type)
    replace_on = (*new.options.replace_on_changes, *([name_input] if name_input else []))
    if any(_matches(p, c) for p in replace_on for c in changes):
        return "replace"
    return "update"


def _comparable(inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in inputs.items() if k != "__provider"}


# ---- the rules -------------------------------------------------------------------------------


def _vault_retention_is_fixed(
    sub: Subscription, old: RecordedResource, new: RecordedResource
) -> None:
    if new.type != VAULT:
        return
    path = "properties.softDeleteRetentionInDays"
    if path in changed_paths(_comparable(old.inputs), _comparable(new.inputs)):
        sub.refuse(
            "update",
            new.name,
            "BadRequest",
            "softDeleteRetentionInDays cannot be changed once the vault exists",
            'MicrosoftDocs/azure-docs b94bc61, key-vault-ovw-soft-delete.md: "the retention '
            'policy interval cannot be changed"',
        )


def _pool_update_carries_the_network(
    sub: Subscription, old: RecordedResource, new: RecordedResource
) -> None:
    if new.type != POOL or "networkConfiguration" not in new.inputs:
        return
    # azure-native updates a pool with its whole body, and Batch refuses any update carrying a
    # networkConfiguration, changed or not: "PropertyCannotBeUpdated" (Azure/Batch#153,
    # Azure/terraform-provider-azapi#263). Batch's own update rules say most pool fields "can be
    # updated only when the pool is empty" (azure-batch models/_models.py:6094,
    # BatchPoolUpdateOptions).
    sub.refuse(
        "update",
        new.name,
        "PropertyCannotBeUpdated",
        "networkConfiguration cannot be updated on an existing pool; changed: "
        + ", ".join(changed_paths(_comparable(old.inputs), _comparable(new.inputs))),
        "Azure/Batch#153; Azure/terraform-provider-azapi#263",
    )


UPDATE_RULES: list[Callable[[Subscription, RecordedResource, RecordedResource], None]] = [
    _vault_retention_is_fixed,
    _pool_update_carries_the_network,
]


def _vault_is_soft_deleted(sub: Subscription, state: Recording, resource: RecordedResource) -> None:
    if resource.type == VAULT:
        # Soft delete is always on: a deleted vault keeps its name (soft-delete-change above).
        sub.soft_deleted_vaults.add(str(resource.state["name"]))


def _secret_delete_needs_a_data_role(
    sub: Subscription, state: Recording, resource: RecordedResource
) -> None:
    if resource.type != SECRET:
        return
    # azure-native deletes a secret through the Key Vault data plane with the deployer's token
    # (pulumi-azure-native#2374: "keyvault.BaseClient#DeleteSecret"); ARM itself refuses the
    # delete ("The operation 'delete' on resource type 'vaults/secrets' is disallowed",
    # Azure/terraform-provider-azapi#879). Under RBAC that needs a role with secrets/delete.
    vault = next(
        (v for v in state.of_type(VAULT) if v.state["name"] == resource.inputs["vaultName"]),
        None,
    )
    allowed = {KEY_VAULT_SECRETS_OFFICER, KEY_VAULT_ADMINISTRATOR}
    held = {
        a.inputs["roleDefinitionId"].rsplit("/", 1)[-1]
        for a in state.of_type(ROLE)
        if vault is not None
        and a.inputs["principalId"] == MOCK_DEPLOYER_OBJECT_ID
        and a.inputs["scope"] == vault.id
    }
    if not held & allowed:
        sub.refuse(
            "delete",
            resource.name,
            "Forbidden",
            "the deployer holds no Key Vault data role allowing secrets/delete on the vault",
            "pulumi-azure-native#2374; Azure/terraform-provider-azapi#879",
        )


def _replaced_containers_are_refilled(
    sub: Subscription, recording: Recording, plan: Mapping[str, str]
) -> None:
    """A replaced registry or Batch account comes back empty under the same name, so the
    resources living in it must be made again."""
    pairs = (
        # A pool referencing a package version the account does not hold fails to create:
        # InvalidApplicationPackageReferences (learn.microsoft.com/azure/batch/
        # batch-application-packages).
        (PACKAGE, BATCH_ACCOUNT, "batch_account_name", "InvalidApplicationPackageReferences"),
        # Nodes prefetching an image the registry does not hold fail to start
        # (learn.microsoft.com/azure/batch/batch-docker-container-workloads).
        (IMAGE, REGISTRY, "registry_name", "ManifestUnknown"),
    )
    for dependent_type, container_type, key, code in pairs:
        for dependent in recording.of_type(dependent_type):
            for container in recording.of_type(container_type):
                if container.state["name"] != dependent.inputs.get(key):
                    continue
                if plan.get(container.urn) == "replace" and plan.get(dependent.urn) not in (
                    "replace",
                    "create",
                ):
                    sub.refuse(
                        "up",
                        dependent.name,
                        code,
                        f"{container.name} was replaced (empty) but {dependent.name} was not "
                        "made again in it",
                        "learn.microsoft.com/azure/batch/batch-application-packages; "
                        "learn.microsoft.com/azure/batch/batch-docker-container-workloads",
                    )


def _storage_account_behind(url: str, recording: Recording) -> RecordedResource | None:
    host = url.split("//", 1)[-1].split("/", 1)[0]
    account = host.split(".", 1)[0]
    return next((a for a in recording.of_type(STORAGE_ACCOUNT) if a.state["name"] == account), None)


def _firewalled_storage_takes_only_the_factorys_system_identity(
    sub: Subscription, recording: Recording, plan: Mapping[str, str]
) -> None:
    """ADF's Azure integration runtime reaches a storage account whose firewall denies by
    default only through "Allow trusted Microsoft services", and: "Trusted bypass cannot
    utilize user-assigned managed identities. It can only employ system-assigned managed
    identities for connecting to Azure Storage and Azure Key Vault"
    (learn.microsoft.com/azure/data-factory/data-factory-service-identity). A linked service
    with a `credential` (our user-assigned identity) is refused there, and one without needs
    the factory's system-assigned identity holding a role on that account."""
    source = "learn.microsoft.com/azure/data-factory/data-factory-service-identity"
    for service in recording.of_type(LINKED_SERVICE):
        properties = service.inputs.get("properties", {})
        url = properties.get("url") or properties.get("serviceEndpoint") or ""
        account = _storage_account_behind(str(url), recording) if url else None
        rules = (account.inputs.get("networkRuleSet") or {}) if account else {}
        if account is None or rules.get("defaultAction") != "Deny":
            continue
        if "AzureServices" not in str(rules.get("bypass") or ""):
            sub.refuse(
                "run",
                service.name,
                "AuthorizationFailure",
                f"{account.name} denies by default and does not bypass trusted Azure services",
                "learn.microsoft.com/azure/storage/common/storage-network-security"
                "#grant-access-to-trusted-azure-services",
            )
            continue
        if properties.get("credential"):
            sub.refuse(
                "run",
                service.name,
                "AuthorizationFailure",
                f"{account.name} denies by default and the trusted-services bypass does not "
                "admit a user-assigned identity (the linked service's credential)",
                source,
            )
            continue
        factory = next(
            (
                f
                for f in recording.of_type(FACTORY)
                if f.state["name"] == service.inputs.get("factoryName")
            ),
            None,
        )
        identity = (factory.state.get("identity") or {}) if factory else {}
        principal = identity.get("principalId")
        # The copy writes the sample: a read-only role is not enough (second Azure review).
        held = any(
            a.inputs["principalId"] == principal
            and str(a.inputs["scope"]).startswith(account.id)
            and str(a.inputs["roleDefinitionId"]).endswith(_LAKE_WRITERS)
            for a in recording.of_type(ROLE)
        )
        if "SystemAssigned" not in str(identity.get("type", "")) or not held:
            sub.refuse(
                "run",
                service.name,
                "AuthorizationPermissionMismatch",
                f"the factory's system-assigned identity holds no role on {account.name}",
                source,
            )


PIPELINE = "azure-native:datafactory:Pipeline"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
STORAGE_CONTAINER = "azure-native:storage:BlobContainer"


def _a_condition_needs_version_2(
    sub: Subscription, recording: Recording, plan: Mapping[str, str]
) -> None:
    """ARM takes a role assignment condition only with conditionVersion '2.0': "Currently the
    only accepted value is '2.0'" (azure-native authorization/role_assignment.py,
    condition_version, from the Authorization REST spec)."""
    for assignment in recording.of_type(ROLE):
        condition, version = (assignment.inputs.get(k) for k in ("condition", "conditionVersion"))
        if condition and version != "2.0":
            sub.refuse(
                "create",
                assignment.name,
                "InvalidConditionVersion",
                f"condition given with conditionVersion {version!r}, not '2.0'",
                "azure-native authorization/role_assignment.py (condition_version)",
            )


def _path_prefixes(condition: str) -> list[str]:
    return re.findall(r"blobs:path\] StringStartsWith '([^']*)'", condition)


def _lake_commit_needs_the_orchestrators_write_role(
    sub: Subscription, recording: Recording, plan: Mapping[str, str]
) -> None:
    """The orchestrator commits the lake over the Blob API as its node's identity (docs/
    lakehouse.md, "On Azure"); the NFS mount's access says nothing there. Storage refuses a
    write the caller holds no data role for ("AuthorizationPermissionMismatch",
    learn.microsoft.com/azure/storage/blobs/authorize-access-azure-active-directory), and a
    role whose condition's path prefix does not hold for the blob (learn.microsoft.com/azure/
    storage/blobs/storage-auth-abac-attributes, blobs:path)."""
    for pipeline in recording.of_type(PIPELINE):
        lake = ((pipeline.inputs.get("parameters") or {}).get("lakePath") or {}).get("defaultValue")
        custom = [a for a in pipeline.inputs.get("activities") or [] if a.get("type") == "Custom"]
        if not lake or not custom:
            continue
        client_id = (custom[0].get("extendedProperties") or {}).get("orchestratorIdentityClientId")
        principal = next(
            (
                i.state["principalId"]
                for i in recording.of_type(UAMI)
                if i.state.get("clientId") == client_id
            ),
            None,
        )
        containers = [
            c.id
            for c in recording.of_type(STORAGE_CONTAINER)
            if c.inputs.get("containerName") == "data"
        ]
        admitted = any(
            a.inputs["principalId"] == principal
            and any(
                str(a.inputs["scope"]).startswith(c) or c.startswith(str(a.inputs["scope"]))
                for c in containers
            )
            and str(a.inputs["roleDefinitionId"]).endswith(_LAKE_WRITERS)
            and (
                not a.inputs.get("condition")
                or any(str(lake).startswith(p) for p in _path_prefixes(str(a.inputs["condition"])))
            )
            for a in recording.of_type(ROLE)
        )
        if not admitted:
            sub.refuse(
                "run",
                pipeline.name,
                "AuthorizationPermissionMismatch",
                f"the orchestrator's identity may not write {lake} in the data container: "
                "its lake commit is refused",
                "learn.microsoft.com/azure/storage/blobs/authorize-access-azure-active-directory",
            )


PLAN_RULES: list[Callable[[Subscription, Recording, Mapping[str, str]], None]] = [
    _replaced_containers_are_refilled,
    _firewalled_storage_takes_only_the_factorys_system_identity,
    _a_condition_needs_version_2,
    _lake_commit_needs_the_orchestrators_write_role,
]


DELETE_RULES: list[Callable[[Subscription, Recording, RecordedResource], None]] = [
    _vault_is_soft_deleted,
    _secret_delete_needs_a_data_role,
]
