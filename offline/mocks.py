"""What Azure would answer, offline: `OfflineMocks` fills in what Azure computes (ids, names,
endpoints, identity principal ids, the Batch account endpoint, the registry login server, the
Application Insights connection string) with values shaped like the real ones and derived
deterministically from the inputs, so two runs of the same config give the same recording.
Dynamic resources get their provider's stand-in outputs (offline/stand_ins.py).

This is the one Mocks class of the repository: the offline engine, the preview, and the tests
of single components (`offline.use_mocks`) all answer with it; tests that need Azure's refusals
subclass it (tests/infra/azure_rules.py).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks

from offline.errors import OfflineError
from offline.recording import unwrap_secrets
from offline.stand_ins import stand_in_outputs

# Stand-ins for what `az account show` would say; shaped like the real thing.
MOCK_SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"
MOCK_TENANT_ID = "55555555-6666-7777-8888-999999999999"
MOCK_DEPLOYER_OBJECT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
MOCK_DEPLOYER_CLIENT_ID = "ffffffff-0000-1111-2222-333333333333"

_UUID_NAMESPACE = uuid.UUID("6f1c5d7e-3a1b-4c2d-9e8f-0a1b2c3d4e5f")


_RG = "/subscriptions/{subscription}/resourceGroups/{resourceGroupName}"
_BATCH = _RG + "/providers/Microsoft.Batch/batchAccounts/{accountName}"
_STORAGE = _RG + "/providers/Microsoft.Storage/storageAccounts/{accountName}"
_NETWORK = _RG + "/providers/Microsoft.Network"
_FACTORY = _RG + "/providers/Microsoft.DataFactory/factories/{factoryName}"
_VAULT = _RG + "/providers/Microsoft.KeyVault/vaults/{vaultName}"

# ARM id template per type token; the last placeholder is the resource's own name input.
_ARM_IDS: dict[str, str] = {
    "azure-native:resources:ResourceGroup": _RG,
    "azure-native:network:VirtualNetwork": _NETWORK + "/virtualNetworks/{virtualNetworkName}",
    "azure-native:network:Subnet": _NETWORK
    + "/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}",
    "azure-native:network:NetworkSecurityGroup": _NETWORK
    + "/networkSecurityGroups/{networkSecurityGroupName}",
    "azure-native:network:NatGateway": _NETWORK + "/natGateways/{natGatewayName}",
    "azure-native:network:PublicIPAddress": _NETWORK + "/publicIPAddresses/{publicIpAddressName}",
    "azure-native:storage:StorageAccount": _STORAGE,
    "azure-native:storage:BlobContainer": _STORAGE
    + "/blobServices/default/containers/{containerName}",
    "azure-native:storage:Blob": _STORAGE
    + "/blobServices/default/containers/{containerName}/blobs/{blobName}",
    "azure-native:managedidentity:UserAssignedIdentity": _RG
    + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
    "azure-native:authorization:RoleAssignment": "{scope}"
    + "/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
    "azure-native:keyvault:Vault": _VAULT,
    "azure-native:keyvault:Secret": _VAULT + "/secrets/{secretName}",
    "azure-native:operationalinsights:Workspace": _RG
    + "/providers/Microsoft.OperationalInsights/workspaces/{workspaceName}",
    "azure-native:applicationinsights:Component": _RG
    + "/providers/Microsoft.Insights/components/{resourceName}",
    "azure-native:containerregistry:Registry": _RG
    + "/providers/Microsoft.ContainerRegistry/registries/{registryName}",
    "azure-native:batch:BatchAccount": _BATCH,
    "azure-native:batch:Pool": _BATCH + "/pools/{poolName}",
    "azure-native:batch:Application": _BATCH + "/applications/{applicationName}",
    "azure-native:batch:ApplicationPackage": _BATCH
    + "/applications/{applicationName}/versions/{versionName}",
    "azure-native:datafactory:Factory": _FACTORY,
    "azure-native:datafactory:CredentialOperation": _FACTORY + "/credentials/{credentialName}",
    "azure-native:datafactory:LinkedService": _FACTORY + "/linkedservices/{linkedServiceName}",
    "azure-native:datafactory:Pipeline": _FACTORY + "/pipelines/{pipelineName}",
    "azure-native:datafactory:Dataset": _FACTORY + "/datasets/{datasetName}",
    "azure-native:datafactory:Trigger": _FACTORY + "/triggers/{triggerName}",
}


def _stable_uuid(*parts: str) -> str:
    return str(uuid.uuid5(_UUID_NAMESPACE, "/".join(parts)))


def _auto_name(logical_name: str) -> str:
    """Like the provider's auto-naming (logical name + random suffix), but repeatable."""
    return logical_name + hashlib.sha256(logical_name.encode()).hexdigest()[:7]


class OfflineMocks(pulumi_mocks.Mocks):
    """Answers resource registrations and invokes with realistic, deterministic Azure values."""

    def __init__(self, location: str) -> None:
        self.location = location

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        if not args.custom:
            return None, {}  # components have no state of their own
        inputs = unwrap_secrets(args.inputs)[0]
        template = _ARM_IDS.get(args.typ)
        if template is None:
            # Dynamic resources and anything else: echo the inputs (the provider is never run),
            # filling the outputs our own dynamic resources compute with stand-ins.
            state = dict(inputs)
            for key, value in stand_in_outputs(args.typ, inputs).items():
                if state.get(key) is None:
                    state[key] = value
            return f"{args.name}-id", state

        name_key = template.rsplit("{", 1)[1].rstrip("}")
        name = str(inputs.get(name_key) or _auto_name(args.name))
        fields = {"subscription": MOCK_SUBSCRIPTION_ID, **_strings(inputs), name_key: name}
        try:
            resource_id = template.format(**fields)
        except KeyError as exc:
            raise OfflineError(
                f"{args.typ} {args.name!r}: input {exc.args[0]} is needed to build its id"
            ) from None

        state: dict[str, Any] = {**inputs, "id": resource_id, "name": name}
        state.setdefault("location", self.location)
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # v3 takes a list of identity ids; Azure answers with a map keyed by id.
            state["identity"] = {
                **identity,
                "userAssignedIdentities": {
                    i: {
                        "principalId": _stable_uuid("principal", i),
                        "clientId": _stable_uuid("client", i),
                    }
                    for i in identity["userAssignedIdentities"]
                },
            }
        identity = state.get("identity")
        if isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type", "")):
            # ARM answers a system-assigned identity with its principal and tenant.
            state["identity"] = {
                **identity,
                "principalId": _stable_uuid("principal", f"{resource_id}/system"),
                "tenantId": MOCK_TENANT_ID,
            }
        state.update(self._computed(args.typ, name, resource_id, state))
        return resource_id, state

    def _computed(self, typ: str, name: str, resource_id: str, state: Mapping[str, Any]) -> dict:
        location = str(state["location"])
        if typ == "azure-native:managedidentity:UserAssignedIdentity":
            return {
                "principalId": _stable_uuid("principal", resource_id),
                "clientId": _stable_uuid("client", resource_id),
                "tenantId": MOCK_TENANT_ID,
            }
        if typ == "azure-native:storage:StorageAccount":
            return {
                "primaryEndpoints": {
                    service: f"https://{name}.{service}.core.windows.net/"
                    for service in ("blob", "dfs", "file", "queue", "table")
                }
            }
        if typ == "azure-native:batch:BatchAccount":
            # ARM returns the endpoint without a scheme.
            return {"accountEndpoint": f"{name}.{location}.batch.azure.com"}
        if typ == "azure-native:containerregistry:Registry":
            return {"loginServer": f"{name.lower()}.azurecr.io"}
        if typ == "azure-native:keyvault:Vault":
            properties = dict(state.get("properties") or {})
            properties["vaultUri"] = f"https://{name}.vault.azure.net/"
            return {"properties": properties}
        if typ == "azure-native:keyvault:Secret":
            # Azure never returns a secret's value from the control plane.
            properties = {k: v for k, v in (state.get("properties") or {}).items() if k != "value"}
            vault = state.get("vaultName", "vault")
            properties["secretUri"] = f"https://{vault}.vault.azure.net/secrets/{name}"
            return {"properties": properties}
        if typ == "azure-native:operationalinsights:Workspace":
            return {"customerId": _stable_uuid("workspace", resource_id)}
        if typ == "azure-native:applicationinsights:Component":
            key = _stable_uuid("instrumentation", resource_id)
            return {
                "instrumentationKey": key,
                "appId": _stable_uuid("app", resource_id),
                "connectionString": (
                    f"InstrumentationKey={key};"
                    f"IngestionEndpoint=https://{location}-0.in.applicationinsights.azure.com/;"
                    f"LiveEndpoint=https://{location}.livediagnostics.monitor.azure.com/"
                ),
            }
        if typ == "azure-native:network:PublicIPAddress":
            return {"ipAddress": "203.0.113.10"}  # TEST-NET-3: documentation only
        return {}

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list[tuple[str, str]]]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": MOCK_DEPLOYER_CLIENT_ID,
                "objectId": MOCK_DEPLOYER_OBJECT_ID,
                "subscriptionId": MOCK_SUBSCRIPTION_ID,
                "tenantId": MOCK_TENANT_ID,
            }, []
        raise OfflineError(f"the offline mocks cannot answer invoke {args.token}: add it")


def _strings(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in values.items() if isinstance(v, str)}
