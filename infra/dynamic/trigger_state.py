"""Whether the pipeline's ADF schedule trigger runs.

ADF creates every trigger Stopped and `runtimeState` is read-only, so IaC alone leaves schedules
off (pulumi-azure-native#3540). This resource starts the trigger when the stack enables it, and
stops it again before it changes or goes away:

- update: stop, then start again if still enabled;
- delete (destroy, or disabling by removing the resource): stop;
- a different trigger (name, factory, ...) replaces this resource, deleting it (stopping the old
  trigger) before creating the new one;
- ADF refuses to update or delete a started trigger. When the Trigger resource itself is replaced
  (give it `replace_on_changes=["*"]` and `delete_before_replace=True`), Pulumi first asks this
  resource whether it must be replaced too, with `trigger_name` unknown; `diff` answers yes, so
  Pulumi deletes it (stopping the trigger) before the Trigger is touched, then starts the new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from infra.dynamic._azure import management_client, progress, text
from infra.dynamic._props import changed_keys, inputs_of

if TYPE_CHECKING:
    from azure.mgmt.datafactory import DataFactoryManagementClient

PROVIDER_VERSION = "1"

TRIGGER_KEYS = ("subscription_id", "resource_group_name", "factory_name", "trigger_name")
STATE_KEYS = ("provider_version", "enabled", "revision")


@dataclass(frozen=True)
class _Trigger:
    subscription_id: str
    resource_group: str
    factory: str
    name: str

    @classmethod
    def of(cls, props: dict[str, Any]) -> _Trigger:
        return cls(
            props["subscription_id"],
            props["resource_group_name"],
            props["factory_name"],
            props["trigger_name"],
        )

    @contextmanager
    def client(self) -> Iterator[DataFactoryManagementClient]:
        from azure.mgmt.datafactory import DataFactoryManagementClient

        with management_client(DataFactoryManagementClient, self.subscription_id) as client:
            yield client

    def start(self) -> str:
        with self.client() as client:
            progress(f"starting ADF trigger {self.name} in {self.factory}")
            client.triggers.begin_start(self.resource_group, self.factory, self.name).result()
            return self._state(client)

    def stop(self) -> str:
        """Stop the trigger; a trigger (or factory) that no longer exists counts as stopped."""
        from azure.core.exceptions import ResourceNotFoundError

        with self.client() as client:
            try:
                if self._state(client) != "Started":
                    return "Stopped"
                progress(f"stopping ADF trigger {self.name} in {self.factory}")
                client.triggers.begin_stop(self.resource_group, self.factory, self.name).result()
                return self._state(client)
            except ResourceNotFoundError:
                return "Stopped"

    def _state(self, client: DataFactoryManagementClient) -> str:
        trigger = client.triggers.get(self.resource_group, self.factory, self.name)
        state = trigger.properties.runtime_state if trigger and trigger.properties else None
        return text(state) if state else "Unknown"


class TriggerStateProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        trigger = _Trigger.of(props)
        state = trigger.start() if props["enabled"] else "Stopped"
        return CreateResult(
            id_=f"{trigger.factory}/{trigger.name}",
            outs={**inputs_of(props), "runtime_state": state},
        )

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = changed_keys(olds, news, TRIGGER_KEYS)
        changes = replaces + changed_keys(olds, news, STATE_KEYS)
        # Stop the old trigger before anything starts the new one.
        return DiffResult(changes=bool(changes), replaces=replaces, delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        trigger = _Trigger.of(news)
        state = trigger.stop()
        if news["enabled"]:
            state = trigger.start()
        return UpdateResult(outs={**inputs_of(news), "runtime_state": state})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        _Trigger.of(props).stop()


@dataclass
class TriggerStateArgs:
    subscription_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    factory_name: pulumi.Input[str]
    # Pass the Trigger resource's own `name` output, so Pulumi orders this after the trigger.
    trigger_name: pulumi.Input[str]
    enabled: pulumi.Input[bool]
    # Anything that changes when the trigger definition changes (for example a hash of its
    # schedule): a change stops and restarts the trigger.
    revision: pulumi.Input[str] = ""


def trigger_props(args: TriggerStateArgs) -> dict[str, Any]:
    """The property bag a TriggerState hands its provider (outputs seeded to None)."""
    return {
        "provider_version": PROVIDER_VERSION,
        "subscription_id": args.subscription_id,
        "resource_group_name": args.resource_group_name,
        "factory_name": args.factory_name,
        "trigger_name": args.trigger_name,
        "enabled": args.enabled,
        "revision": args.revision,
        "runtime_state": None,
    }


class TriggerState(Resource, module="rosbag", name="TriggerState"):
    """Starts (or stops) an ADF trigger; `runtime_state` is what ADF reported afterwards."""

    runtime_state: pulumi.Output[str]

    def __init__(
        self, name: str, args: TriggerStateArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TriggerStateProvider(), name, trigger_props(args), opts)
