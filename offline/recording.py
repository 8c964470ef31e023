"""What the engine was told: every resource the program registered (type, logical name, parent,
inputs, the state the mocks answered, the resource options `pulumi up` would act on) and the
stack outputs with their secretness."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class AliasSpec:
    """One entry of a resource's `aliases` option, as the engine receives it (alias.proto):
    a full URN, or the parts that differ from the resource's own (empty = the same)."""

    urn: str = ""
    name: str = ""
    type: str = ""
    stack: str = ""
    project: str = ""
    parent_urn: str = ""
    no_parent: bool = False  # it was a top-level resource (a child of the stack)


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
    replace_with: tuple[str, ...] = ()  # URNs whose replacement replaces this resource too
    aliases: tuple[AliasSpec, ...] = ()


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
        return f"urn:pulumi:{self.stack}::{self.project}::{STACK_TYPE}::{self.project}-{self.stack}"

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

    def engine_urn(self, resource: RecordedResource) -> str:
        """The URN the Pulumi engine gives `resource`. Not the mocks' URN: the SDK's mock monitor
        qualifies a type by its parent's type alone (and by the root stack's), the engine by
        every ancestor's but the stack's (the SDK's own `create_urn`, pulumi/runtime/resource.py),
        so only engine URNs show what moving a component does to its descendants."""
        types = [a.type for a in reversed(list(self.ancestors(resource)))]
        return urn(self.stack, self.project, "$".join(types), resource.type, resource.name)

    def former_urns(self, resource: RecordedResource) -> frozenset[str]:
        """Every engine URN `pulumi up` takes to be this resource in an existing stack: its own,
        those of its aliases, and those its ancestors' aliases give it (a child of a moved
        component moves with it): the engine's rule (pulumi.com/docs/iac/concepts/resources/
        options/aliases; the SDK's allAliases: "(M+1)(N+1)-1" aliases for N own and M inherited).
        Left out: the engine also renames a child whose name starts with a renamed parent's old
        name; this program moves components but never renames one."""
        known = {r.urn: r for r in self.resources}
        return frozenset(self._former_urns(resource, known))

    def _former_urns(
        self, resource: RecordedResource, known: Mapping[str, RecordedResource]
    ) -> set[str]:
        parent = known.get(resource.parent_urn)
        # Every engine URN the parent had ("" = the root stack, which qualifies nothing).
        parents = self._former_urns(parent, known) if parent else {""}
        # Under each of them the resource had its own type and name ...
        found = {self._urn_under(p, resource.type, resource.name) for p in parents}
        for alias in resource.options.aliases:
            if alias.urn:
                found.add(alias.urn)
                continue
            # ... and each alias says what differed: under the parent it names (none: the stack),
            # or else under each URN of the current parent.
            if alias.no_parent:
                under = {""}
            elif alias.parent_urn:
                named = known.get(alias.parent_urn)
                under = {self.engine_urn(named) if named else alias.parent_urn}
            else:
                under = parents
            type_, name = alias.type or resource.type, alias.name or resource.name
            stack, project = alias.stack or self.stack, alias.project or self.project
            found |= {self._urn_under(p, type_, name, stack, project) for p in under}
        return found

    def _urn_under(
        self, parent: str, type_: str, name: str, stack: str = "", project: str = ""
    ) -> str:
        qualifier = parent.split("::")[2] if parent else ""
        return urn(stack or self.stack, project or self.project, qualifier, type_, name)


def urn(stack: str, project: str, parent_types: str, type_: str, name: str) -> str:
    """An engine URN: the type is qualified by the parent's qualified type (none at the root)."""
    qualified = f"{parent_types}${type_}" if parent_types else type_
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, keeping what it is told about each resource in order."""

    def __init__(self, mocks: pulumi_mocks.Mocks, recorded: list[RecordedResource]) -> None:
        super().__init__(mocks)
        self.recorded = recorded

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        inputs, secret_keys = unwrap_secrets(rpc.deserialize_properties(request.object))
        registration = self.resources.get(response.urn)
        state = unwrap_secrets(dict(registration.state))[0] if registration else {}
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
                options=observed_options(request),
            )
        )
        return response


def observed_options(request: Any) -> ObservedOptions:
    """The options of a RegisterResourceRequest (resource.proto), as plain values."""
    dependencies = set(request.dependencies)
    for deps in request.propertyDependencies.values():
        dependencies.update(deps.urns)
    return ObservedOptions(
        protect=bool(request.protect),
        delete_before_replace=request.deleteBeforeReplace,
        replace_on_changes=tuple(request.replaceOnChanges),
        ignore_changes=tuple(request.ignoreChanges),
        depends_on=tuple(sorted(dependencies)),
        retain_on_delete=bool(request.retainOnDelete),
        additional_secret_outputs=tuple(request.additionalSecretOutputs),
        deleted_with=request.deletedWith,
        replace_with=tuple(request.replace_with),
        aliases=tuple(_alias(a) for a in request.aliases),
    )


def _alias(alias: Any) -> AliasSpec:
    if alias.urn:
        return AliasSpec(urn=alias.urn)
    spec = alias.spec
    return AliasSpec(
        name=spec.name,
        type=spec.type,
        stack=spec.stack,
        project=spec.project,
        parent_urn=spec.parentUrn,
        no_parent=spec.noParent,
    )


def unwrap_secrets(value: Any) -> tuple[Any, set[str]]:
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
