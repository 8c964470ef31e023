"""Run the real Pulumi program offline: no Azure, no Pulumi CLI, no network.

`run_stack("dev")` loads `Pulumi.yaml` and `Pulumi.dev.yaml` the way the CLI would (project
namespace, schema defaults, `azure-native:location`), hands them to the Python SDK, answers every
resource registration and invoke with `OfflineMocks`, runs `infra.program.main` and returns a
`Recording`: every resource (type token, logical name, parent, inputs, the state the mocks
answered, and the resource options the engine would see) plus the stack outputs with their
secretness. Both the tests and the offline preview (`infra/preview.py`) are built on it.

The mocks fill in what Azure computes (ids, names, endpoints, identity principal ids, the Batch
account endpoint, the registry login server, the Application Insights connection string) with
values shaped like the real ones and derived deterministically from the inputs, so two runs of the
same config give the same recording.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

REPO_ROOT = Path(__file__).resolve().parent.parent

# Stand-ins for what `az account show` would say; shaped like the real thing.
MOCK_SUBSCRIPTION_ID = "00000000-1111-2222-3333-444444444444"
MOCK_TENANT_ID = "55555555-6666-7777-8888-999999999999"
MOCK_DEPLOYER_OBJECT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
MOCK_DEPLOYER_CLIENT_ID = "ffffffff-0000-1111-2222-333333333333"

_UUID_NAMESPACE = uuid.UUID("6f1c5d7e-3a1b-4c2d-9e8f-0a1b2c3d4e5f")


class OfflineError(Exception):
    """The stack files cannot be loaded, or the program asked for something offline can't answer."""


# --------------------------------------------------------------------------------------------
# Stack configuration, loaded as the Pulumi CLI would
# --------------------------------------------------------------------------------------------


def project_name(project_dir: Path = REPO_ROOT) -> str:
    project = _read_yaml(project_dir / "Pulumi.yaml")
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise OfflineError(f"{project_dir / 'Pulumi.yaml'}: `name` is missing")
    return name


def stack_names(project_dir: Path = REPO_ROOT) -> list[str]:
    """Every stack that has a `Pulumi.<stack>.yaml` beside `Pulumi.yaml`, sorted."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def load_stack_config(stack: str, project_dir: Path = REPO_ROOT) -> dict[str, str]:
    """The flat `namespace:key -> value` map the CLI would give the program for `stack`.

    Project keys may be written bare or as `<project>:key` in the stack file; defaults from the
    `config:` schema in Pulumi.yaml fill keys the stack leaves out. Structured values (arrays,
    objects) are JSON text, as the CLI passes them, so `Config.get_object` reads them back.
    """
    project = project_name(project_dir)
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = ", ".join(stack_names(project_dir)) or "none"
        raise OfflineError(f"no stack file {stack_file.name} (stacks here: {known})")

    schema = _read_yaml(project_dir / "Pulumi.yaml").get("config") or {}
    values: dict[str, Any] = {}
    for key, spec in schema.items():
        if isinstance(spec, Mapping) and "default" in spec:
            values[_namespaced(project, key)] = spec["default"]

    for key, value in (_read_yaml(stack_file).get("config") or {}).items():
        if isinstance(value, Mapping) and "secure" in value:
            raise OfflineError(
                f"{stack_file.name}: `{key}` is an encrypted secret; offline runs can't decrypt "
                "it. Keep secrets out of stack files used offline (this project needs none)."
            )
        values[_namespaced(project, key)] = value

    return {key: _config_text(value) for key, value in values.items()}


def _namespaced(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _config_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    # bools and numbers become JSON text too (`true`, `3`), which is what Config.get_bool/int parse.
    return json.dumps(value)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OfflineError(f"{path} is missing") from None
    except yaml.YAMLError as exc:
        raise OfflineError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise OfflineError(f"{path} must be a YAML mapping")
    return data


# --------------------------------------------------------------------------------------------
# What the mocks answer
# --------------------------------------------------------------------------------------------

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
        inputs = _unwrap_secrets(args.inputs)[0]
        template = _ARM_IDS.get(args.typ)
        if template is None:
            # Dynamic resources and anything else: echo the inputs (the provider is never run),
            # filling the outputs our own dynamic resources compute with stand-ins.
            state = dict(inputs)
            for key, value in _dynamic_outputs(args.typ, inputs).items():
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


def _dynamic_outputs(typ: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Stand-ins for what infra/dynamic's providers return after create (their seeded-None
    outputs), shaped like the real values so downstream inputs read naturally offline."""
    if typ == "pulumi-python:dynamic/rosbag:ProcessorImage":
        digest = "sha256:" + hashlib.sha256(str(inputs.get("source_hash")).encode()).hexdigest()
        image = f"{inputs.get('login_server')}/{inputs.get('repository')}@{digest}"
        return {"image": image, "digest": digest, "build_id": "offline"}
    if typ == "pulumi-python:dynamic/rosbag:OrchestratorPackage":
        account = _BATCH.format(
            subscription=MOCK_SUBSCRIPTION_ID,
            resourceGroupName=inputs.get("resource_group_name"),
            accountName=inputs.get("batch_account_name"),
        )
        return {
            "application_resource_id": f"{account}/applications/{inputs.get('app_id')}",
            "published_versions": [inputs.get("package_version")],
            "created_application": True,
            "zip_sha256": hashlib.sha256(str(inputs.get("content_hash")).encode()).hexdigest(),
        }
    if typ == "pulumi-python:dynamic/rosbag:TriggerState":
        return {"runtime_state": "Started" if inputs.get("enabled") else "Stopped"}
    if typ == "pulumi-python:dynamic/rosbag:SampleSeed":
        return {"run_id": "offline"}
    return {}


def _strings(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: v for k, v in values.items() if isinstance(v, str)}


# --------------------------------------------------------------------------------------------
# The recording
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ObservedOptions:
    """The resource options the engine receives for a resource (what `pulumi up` acts on)."""

    protect: bool = False
    delete_before_replace: bool = False
    replace_on_changes: tuple[str, ...] = ()
    ignore_changes: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()  # URNs, explicit and implied by inputs
    retain_on_delete: bool = False
    additional_secret_outputs: tuple[str, ...] = ()
    deleted_with: str = ""


@dataclass(frozen=True)
class RecordedResource:
    type: str
    name: str
    urn: str
    parent_urn: str  # "" for the stack itself
    custom: bool
    inputs: Mapping[str, Any]  # plain values, secrets unwrapped
    state: Mapping[str, Any]  # inputs + what the mocks computed
    secret_inputs: frozenset[str]  # top-level input keys that carried a secret
    options: ObservedOptions

    @property
    def id(self) -> str:
        return str(self.state.get("id", ""))


@dataclass(frozen=True)
class StackOutput:
    value: Any
    secret: bool


@dataclass(frozen=True)
class Recording:
    project: str
    stack: str
    config: Mapping[str, str]
    resources: tuple[RecordedResource, ...]
    outputs: Mapping[str, StackOutput] = field(default_factory=dict)

    @property
    def stack_urn(self) -> str:
        """The root stack's URN: the parent of every top-level resource."""
        return (
            f"urn:pulumi:{self.stack}::{self.project}::pulumi:pulumi:Stack::"
            f"{self.project}-{self.stack}"
        )

    def of_type(self, type_token: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_token]

    def one(self, type_token: str, name_suffix: str = "") -> RecordedResource:
        """The single resource of a type (whose logical name ends with name_suffix)."""
        found = [r for r in self.of_type(type_token) if r.name.endswith(name_suffix)]
        if len(found) != 1:
            names = [r.name for r in self.of_type(type_token)]
            raise LookupError(f"{len(found)} x {type_token} *{name_suffix} (have: {names})")
        return found[0]

    def by_urn(self, urn: str) -> RecordedResource:
        for resource in self.resources:
            if resource.urn == urn:
                return resource
        raise LookupError(urn)

    def children(self, parent_urn: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.parent_urn == parent_urn]

    def ancestors(self, resource: RecordedResource) -> Iterator[RecordedResource]:
        known = {r.urn: r for r in self.resources}
        parent = known.get(resource.parent_urn)
        while parent is not None:
            yield parent
            parent = known.get(parent.parent_urn)


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping what it is told about each resource in order."""

    def __init__(self, mocks: OfflineMocks, recorded: list[RecordedResource]) -> None:
        super().__init__(mocks)
        self.recorded = recorded

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs, secret_keys = _unwrap_secrets(rpc.deserialize_properties(request.object))
        registration = self.resources.get(response.urn)
        state = _unwrap_secrets(dict(registration.state))[0] if registration else {}
        dependencies = set(request.dependencies)
        for deps in request.propertyDependencies.values():
            dependencies.update(deps.urns)
        self.recorded.append(
            RecordedResource(
                type=request.type,
                name=request.name,
                urn=response.urn,
                parent_urn=request.parent,
                custom=request.custom,
                inputs=inputs,
                state=state,
                secret_inputs=frozenset(secret_keys),
                options=ObservedOptions(
                    protect=bool(request.protect),
                    delete_before_replace=request.deleteBeforeReplace,
                    replace_on_changes=tuple(request.replaceOnChanges),
                    ignore_changes=tuple(request.ignoreChanges),
                    depends_on=tuple(sorted(dependencies)),
                    retain_on_delete=bool(request.retainOnDelete),
                    additional_secret_outputs=tuple(request.additionalSecretOutputs),
                    deleted_with=request.deletedWith,
                ),
            )
        )
        return response


def _unwrap_secrets(value: Any) -> tuple[Any, set[str]]:
    """(value with every secret unwrapped, top-level keys that contained a secret)."""

    def plain(v: Any) -> tuple[Any, bool]:
        if rpc.is_rpc_secret(v):
            return plain(rpc.unwrap_rpc_secret(v))[0], True
        if isinstance(v, dict):
            items = {k: plain(x) for k, x in v.items()}
            return {k: x for k, (x, _) in items.items()}, any(s for _, s in items.values())
        if isinstance(v, list):
            elements = [plain(x) for x in v]
            return [x for x, _ in elements], any(s for _, s in elements)
        if isinstance(v, float) and v.is_integer():
            return int(v), False  # protobuf carries every number as a double
        return v, False

    if not isinstance(value, dict):
        return plain(value)[0], set()
    result: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for key, item in value.items():
        result[key], is_secret = plain(item)
        if is_secret:
            secret_keys.add(key)
    return result, secret_keys


# --------------------------------------------------------------------------------------------
# Running the program
# --------------------------------------------------------------------------------------------


def run_stack(
    stack: str,
    *,
    project_dir: Path = REPO_ROOT,
    config_overrides: Mapping[str, Any] | None = None,
    program: Callable[[], None] | None = None,
    recorded: list[RecordedResource] | None = None,
) -> Recording:
    """Run the program for `stack` under the offline mocks and return what it declared.

    `config_overrides` (bare project keys or `namespace:key`, `None` removes a key) let tests
    try bad values. Every call starts from fresh Pulumi runtime state, so runs are independent;
    they are not thread-safe (the SDK keeps its settings in process-wide context variables).
    Pass `recorded` to see what was declared even when the program raises.
    """
    project = project_name(project_dir)
    config = load_stack_config(stack, project_dir)
    for key, value in (config_overrides or {}).items():
        namespaced = _namespaced(project, key)
        if value is None:
            config.pop(namespaced, None)
        else:
            config[namespaced] = _config_text(value)

    if program is None:
        from infra.program import main as program

    location = config.get("azure-native:location", "")
    mocks = OfflineMocks(location)
    monitor = _RecordingMonitor(mocks, recorded if recorded is not None else [])

    pulumi_settings.ROOT.set(None)  # a fresh root stack for this run
    pulumi.runtime.set_all_config(config, secret_keys=[])
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    root = pulumi_settings.get_root_resource()
    assert isinstance(root, Stack)

    outputs: dict[str, StackOutput] = {}

    async def body() -> None:
        program()
        for name, value in root.outputs.items():
            output = pulumi.Output.from_input(value)
            resolved = await output.future(with_unknowns=True)
            outputs[name] = StackOutput(_unwrap_secrets(resolved)[0], await output.is_secret())

    # As `pulumi.runtime.test` does: no RPC or output left over from an earlier run. (SETTINGS's
    # attributes are context properties the type checker cannot see.)
    runtime_settings: Any = pulumi_settings.SETTINGS
    runtime_settings.rpc_manager.clear()
    runtime_settings.outputs.clear()
    try:
        _sync_await(run_pulumi_func(body))
    finally:
        pulumi_settings.ROOT.set(None)

    return Recording(
        project=project,
        stack=stack,
        config=dict(config),
        resources=tuple(monitor.recorded),
        outputs=outputs,
    )
