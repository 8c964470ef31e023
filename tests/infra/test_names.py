"""infra/names.py: the physical names of globally named resources follow Azure's rules, are
stable for one stack in one subscription, and differ between stacks and subscriptions."""

from __future__ import annotations

import pytest

from infra.names import PhysicalNames

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"


@pytest.mark.parametrize("stack", ["dev", "prod", "a-very-long-stack-name_with.symbols"])
def test_physical_names_follow_azure_rules_and_are_stable(stack: str) -> None:
    names = PhysicalNames.derive("rosbag-batch", stack, SUBSCRIPTION)
    assert names == PhysicalNames.derive("rosbag-batch", stack, SUBSCRIPTION)
    names.validate()  # raises on a broken rule
    assert len({names.data_lake, names.batch_storage}) == 2


def test_physical_names_differ_per_subscription_and_stack() -> None:
    a = PhysicalNames.derive("rosbag-batch", "dev", SUBSCRIPTION)
    b = PhysicalNames.derive("rosbag-batch", "dev", "99999999-1111-2222-3333-444444444444")
    c = PhysicalNames.derive("rosbag-batch", "prod", SUBSCRIPTION)
    assert a.data_lake != b.data_lake
    assert a.data_lake != c.data_lake


def test_a_name_breaking_azure_rules_is_refused() -> None:
    broken = PhysicalNames(
        data_lake="Has-Upper",
        batch_storage="ok123",
        registry="okregistry",
        batch_account="okbatch",
    )
    with pytest.raises(ValueError, match="storage account name 'Has-Upper'"):
        broken.validate()
