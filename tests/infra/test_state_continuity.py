"""An existing stack keeps every Azure resource across a refactoring of the program.

`pulumi up` matches the program's resources to the state by URN, and a URN names every ancestor
component: moving a component under a new parent changes its URN and its descendants', and
without an alias the engine deletes the old resource and creates a new one (the data lake with
its data). tests/infra/data/urns-<stack>.txt hold the engine URNs the program on main declared,
at each layout a stack may have been deployed with: 08a325b (before the layers) and 3cc76b8^1
(the layers, before the Data Factory split). Add the new URNs after an intended change with
`python -m tests.infra.test_state_continuity <stack>` (sorted, unique): each must still be the
URN, or a former URN through aliases, of exactly one resource the program declares now.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi
import pytest

from offline import Recording, run_stack, stack_names

DATA = Path(__file__).parent / "data"


def recorded_urns(stack: str) -> list[str]:
    return (DATA / f"urns-{stack}.txt").read_text(encoding="utf-8").split()


def successors(recording: Recording, former: str) -> list[str]:
    return [r.name for r in recording.resources if former in recording.former_urns(r)]


@pytest.mark.parametrize("stack", stack_names())
def test_every_resource_of_an_existing_stack_is_still_declared(
    stack: str, recordings: dict[str, Recording]
) -> None:
    recording = recordings[stack]
    found = {former: successors(recording, former) for former in recorded_urns(stack)}
    lost = [former for former, names in found.items() if not names]
    assert lost == [], "pulumi up would delete these (add aliases, or record an intended change)"
    claimed = {former: names for former, names in found.items() if len(names) > 1}
    assert claimed == {}


def nested_program(*, alias: bool) -> None:
    """`group` was at the root; now it is inside `outer`, with or without saying so."""
    outer = pulumi.ComponentResource("test:index:Outer", "outer")
    aliases = [pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)] if alias else []
    group = pulumi.ComponentResource(
        "test:index:Group", "group", None, pulumi.ResourceOptions(parent=outer, aliases=aliases)
    )
    pulumi.CustomResource(
        "azure-native:resources:ResourceGroup", "rg", {}, pulumi.ResourceOptions(parent=group)
    )


@pytest.mark.parametrize("alias", [True, False])
def test_a_moved_components_children_keep_their_former_urns_only_through_its_alias(
    alias: bool,
) -> None:
    recording = run_stack("dev", program=lambda: nested_program(alias=alias))
    group = recording.one("azure-native:resources:ResourceGroup")
    assert recording.engine_urn(group) == (
        "urn:pulumi:dev::rosbag-batch::test:index:Outer$test:index:Group"
        "$azure-native:resources:ResourceGroup::rg"
    )
    was = "urn:pulumi:dev::rosbag-batch::test:index:Group$azure-native:resources:ResourceGroup::rg"
    assert (was in recording.former_urns(group)) is alias


if __name__ == "__main__":
    current = run_stack(sys.argv[1])
    print("\n".join(sorted(current.engine_urn(r) for r in current.resources)))
