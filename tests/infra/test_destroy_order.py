"""`pulumi destroy` order, as the real program declares it (offline mocks, every stack).

Pulumi deletes a resource before everything it depends on (explicit `depends_on`, references
between inputs, and its parent), so "A is gone before B" is "B is among A's transitive
dependencies". These tests pin the orders a clean destroy needs (docs/operations.md):
the schedule trigger stopped before it is deleted and before the factory goes, the pools gone
before the network and the data lake they mount, role assignments gone before the identity,
the resource group last; and the Key Vault purge protection each stack's config asks for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from offline import RecordedResource, Recording, load_stack_config, run_stack, stack_names

STACKS = stack_names()
POOL = "azure-native:batch:Pool"
TRIGGER = "azure-native:datafactory:Trigger"
TRIGGER_STATE = "pulumi-python:dynamic/rosbag:TriggerState"
FACTORY = "azure-native:datafactory:Factory"
GROUP = "azure-native:resources:ResourceGroup"
NETWORK = (
    "azure-native:network:VirtualNetwork",
    "azure-native:network:Subnet",
    "azure-native:network:NatGateway",
    "azure-native:network:PublicIPAddress",
    "azure-native:network:NetworkSecurityGroup",
)


@pytest.fixture(params=STACKS)
def rec(request: pytest.FixtureRequest, recordings: dict[str, Recording]) -> Recording:
    return recordings[request.param]


def depends_on(rec: Recording, resource: RecordedResource) -> set[str]:
    """URNs that `resource` transitively depends on: all still there while it is deleted."""
    known = {r.urn: r for r in rec.resources}
    seen: set[str] = set()
    pending = [resource]
    while pending:
        current = pending.pop()
        for urn in (*current.options.depends_on, current.parent_urn):
            if urn in known and urn not in seen:
                seen.add(urn)
                pending.append(known[urn])
    return seen


def deleted_before(rec: Recording, first: RecordedResource, then: RecordedResource) -> bool:
    return then.urn in depends_on(rec, first)


def custom(rec: Recording) -> Iterator[RecordedResource]:
    return (r for r in rec.resources if r.custom)


def config_flag(stack: str, key: str) -> bool:
    return load_stack_config(stack)[f"rosbag-batch:{key}"] == "true"


def test_pools_are_gone_before_the_network_and_the_data_lake_they_mount(rec: Recording) -> None:
    pools = rec.of_type(POOL)
    assert len(pools) == 2
    lake = rec.one("azure-native:storage:StorageAccount", "datalake-account")
    for pool in pools:
        for kind in NETWORK:
            for part in rec.of_type(kind):
                assert deleted_before(rec, pool, part), f"{pool.name} outlives {part.name}"
        # Azure refuses to delete a subnet that a pool's nodes still use, and a node's NFS
        # mount must not lose its account first.
        assert deleted_before(rec, pool, lake), pool.name
        assert deleted_before(rec, pool, rec.one("azure-native:batch:BatchAccount")), pool.name


@pytest.fixture(scope="module")
def scheduled_dev() -> Recording:
    """dev with a schedule, so the trigger order is pinned whatever prod's config says."""
    return run_stack(
        "dev",
        config_overrides={"scheduleFrequency": "Hour", "scheduleStartTime": "2030-01-01T00:00:00Z"},
    )


@pytest.fixture(params=["dev with a schedule", "prod"])
def scheduled(
    request: pytest.FixtureRequest, recordings: dict[str, Recording], scheduled_dev: Recording
) -> Recording:
    return recordings["prod"] if request.param == "prod" else scheduled_dev


def test_a_schedule_trigger_is_stopped_before_it_and_the_factory_are_deleted(
    scheduled: Recording,
) -> None:
    [trigger] = [t for t in scheduled.of_type(TRIGGER) if t.name == "datafactory-schedule"]
    states = [s for s in scheduled.of_type(TRIGGER_STATE) if s.name == "schedule-state"]
    assert states, (
        "the schedule trigger has no TriggerState resource (infra/dynamic/trigger_state.py): "
        "nothing starts it at `pulumi up`, and nothing stops it before destroy, yet ADF refuses "
        "to delete a started trigger"
    )
    [state] = states
    # Destroy: the state resource goes first (its delete stops the trigger), then the trigger,
    # then the pipeline it runs and the factory.
    assert deleted_before(scheduled, state, trigger)
    assert deleted_before(
        scheduled,
        trigger,
        scheduled.one("azure-native:datafactory:Pipeline", "datafactory-pipeline"),
    )
    assert deleted_before(scheduled, trigger, scheduled.one(FACTORY))
    # The trigger is replaced (never updated in place) and deleted before its replacement.
    assert trigger.options.delete_before_replace
    assert trigger.options.replace_on_changes == ("*",)


def test_no_schedule_means_no_schedule_trigger_to_stop(recordings: dict[str, Recording]) -> None:
    dev = recordings["dev"]
    assert load_stack_config("dev").get("rosbag-batch:scheduleFrequency", "") == ""
    # Only the storage event triggers (on by default, eventTrigger).
    assert sorted(t.name for t in dev.of_type(TRIGGER)) == [
        "datafactory-on-bag", "datafactory-on-db3", "datafactory-on-mcap", "datafactory-on-metadata"
    ]  # fmt: skip
    assert "schedule-state" not in {s.name for s in dev.of_type(TRIGGER_STATE)}


def test_every_event_trigger_is_stopped_before_it_and_the_factory_are_deleted(
    recordings: dict[str, Recording],
) -> None:
    dev = recordings["dev"]
    states = {s.name: s for s in dev.of_type(TRIGGER_STATE)}
    for trigger in dev.of_type(TRIGGER):
        kind = trigger.name.removeprefix("datafactory-on-")
        state = states[f"event-state-{kind}"]
        assert deleted_before(dev, state, trigger), trigger.name
        assert deleted_before(dev, trigger, dev.one(FACTORY)), trigger.name
        assert trigger.options.delete_before_replace
        assert trigger.options.replace_on_changes == ("*",)


def test_role_assignments_are_gone_before_the_identity_and_their_scope(rec: Recording) -> None:
    identities = {
        i.state["principalId"]: i
        for i in rec.of_type("azure-native:managedidentity:UserAssignedIdentity")
    }
    by_id = {r.id: r for r in custom(rec)}
    assignments = rec.of_type("azure-native:authorization:RoleAssignment")
    assert assignments
    for assignment in assignments:
        # Otherwise Azure keeps an "Identity not found" assignment behind. (The deployer's
        # own assignments name a principal outside the stack.)
        identity = identities.get(assignment.inputs["principalId"])
        if identity is not None:
            assert deleted_before(rec, assignment, identity), assignment.name
        scope = by_id.get(assignment.inputs["scope"])
        assert scope is not None, f"{assignment.name}: scope outside the stack"
        assert deleted_before(rec, assignment, scope), assignment.name


def test_the_resource_group_is_created_by_the_stack_and_deleted_last(rec: Recording) -> None:
    group = rec.one(GROUP)
    for resource in custom(rec):
        if resource is not group:
            # Deleting the group last also sweeps what Azure added inside it on its own (the
            # Application Insights smart-detection rule and action group, for example).
            assert deleted_before(rec, resource, group), resource.name


def test_nothing_is_retained_on_delete(rec: Recording) -> None:
    retained = [r.name for r in rec.resources if r.options.retain_on_delete]
    assert retained == []


def test_key_vault_purge_protection_follows_the_stack_config(rec: Recording) -> None:
    vault = rec.one("azure-native:keyvault:Vault").inputs["properties"]
    config = load_stack_config(rec.stack)
    protected = config_flag(rec.stack, "keyVaultPurgeProtection")

    assert vault["enableSoftDelete"] is True  # always on in Azure; explicit here
    assert vault["softDeleteRetentionInDays"] == int(
        config.get("rosbag-batch:keyVaultRetentionDays", "7")
    )
    if protected:
        assert vault["enablePurgeProtection"] is True
    else:
        # Azure rejects `false` once set: an unset flag is how a stack says "no protection".
        assert "enablePurgeProtection" not in vault


def test_stacks_match_their_purpose() -> None:
    """dev is built to be destroyed and re-created; prod is built to survive a mistake."""
    assert not config_flag("dev", "keyVaultPurgeProtection")
    assert not config_flag("dev", "protectDataLake")
    assert config_flag("prod", "keyVaultPurgeProtection")
    assert config_flag("prod", "protectDataLake")


def test_protected_data_lake_blocks_destroy_only_where_configured(rec: Recording) -> None:
    lake = rec.one("azure-native:storage:StorageAccount", "datalake-account")
    assert lake.options.protect is config_flag(rec.stack, "protectDataLake")
    protected = [r.name for r in rec.resources if r.options.protect and r is not lake]
    assert protected == []  # nothing else can make a destroy stop half-way
