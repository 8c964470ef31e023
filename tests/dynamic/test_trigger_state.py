"""The trigger state provider as plain Python against the fake ARM."""

from __future__ import annotations

from typing import Any

from infra.dynamic import trigger_state as ts
from infra.dynamic._azure import UNKNOWN
from tests.dynamic.fake_arm import FakeArm
from tests.dynamic.helpers import RESOURCE_GROUP, SUBSCRIPTION, up

FACTORY = "rb-dev-adf"
TRIGGER = "extract-bags-schedule"


def _props(**overrides: Any) -> dict[str, Any]:
    args = ts.TriggerStateArgs(
        subscription_id=SUBSCRIPTION,
        resource_group_name=RESOURCE_GROUP,
        factory_name=FACTORY,
        trigger_name=TRIGGER,
        enabled=True,
        revision="daily@02:00",
    )
    for key, value in overrides.items():
        setattr(args, key, value)
    return ts.trigger_props(args)


def _trigger_calls(fake: FakeArm) -> list[str]:
    """start/stop calls in order (state reads left out)."""
    return [c.path.rsplit("/", 1)[-1] for c in fake.calls if c.method == "POST"]


def test_create_starts_an_enabled_trigger(fake_arm: FakeArm) -> None:
    fake_arm.triggers[TRIGGER] = "Stopped"  # how ADF creates every trigger
    outs = ts.TriggerStateProvider().create(_props()).outs or {}
    assert fake_arm.triggers[TRIGGER] == "Started"
    assert outs["runtime_state"] == "Started"
    assert _trigger_calls(fake_arm) == ["start"]


def test_create_leaves_a_disabled_trigger_alone(fake_arm: FakeArm) -> None:
    fake_arm.triggers[TRIGGER] = "Stopped"
    outs = ts.TriggerStateProvider().create(_props(enabled=False)).outs or {}
    assert outs["runtime_state"] == "Stopped"
    assert fake_arm.calls == []


def test_an_unchanged_up_makes_no_calls(fake_arm: FakeArm) -> None:
    fake_arm.triggers[TRIGGER] = "Stopped"
    provider = ts.TriggerStateProvider()
    outs = provider.create(_props()).outs or {}
    fake_arm.clear_calls()
    assert not provider.diff("id", outs, _props()).changes
    assert up(provider, outs, _props()) == outs
    assert fake_arm.calls == []


def test_a_changed_trigger_is_stopped_before_it_is_started_again(fake_arm: FakeArm) -> None:
    fake_arm.triggers[TRIGGER] = "Stopped"
    provider = ts.TriggerStateProvider()
    outs = provider.create(_props()).outs or {}
    fake_arm.clear_calls()

    outs = up(provider, outs, _props(revision="hourly"))
    assert _trigger_calls(fake_arm) == ["stop", "start"]
    assert outs["runtime_state"] == "Started"


def test_disabling_stops_the_trigger(fake_arm: FakeArm) -> None:
    fake_arm.triggers[TRIGGER] = "Stopped"
    provider = ts.TriggerStateProvider()
    outs = provider.create(_props()).outs or {}
    fake_arm.clear_calls()

    outs = up(provider, outs, _props(enabled=False))
    assert _trigger_calls(fake_arm) == ["stop"]
    assert fake_arm.triggers[TRIGGER] == "Stopped" == outs["runtime_state"]


def test_delete_stops_the_trigger_and_tolerates_a_deleted_factory(fake_arm: FakeArm) -> None:
    fake_arm.triggers[TRIGGER] = "Stopped"
    provider = ts.TriggerStateProvider()
    outs = provider.create(_props()).outs or {}
    provider.delete("id", outs)
    assert fake_arm.triggers[TRIGGER] == "Stopped"

    del fake_arm.triggers[TRIGGER]
    provider.delete("id", outs)  # nothing left to stop: not an error


def test_another_trigger_replaces_deleting_first() -> None:
    provider = ts.TriggerStateProvider()
    diff = provider.diff("id", _props(), _props(trigger_name="other"))
    assert diff.replaces == ["trigger_name"] and diff.delete_before_replace


def test_an_unknown_trigger_name_asks_for_replacement() -> None:
    """What Pulumi asks before a delete-before-replace of the Trigger this resource depends on:
    answering "replace" makes Pulumi stop the trigger before ADF is asked to change it."""
    diff = ts.TriggerStateProvider().diff("id", _props(), _props(trigger_name=UNKNOWN))
    assert diff.replaces == ["trigger_name"] and diff.delete_before_replace
