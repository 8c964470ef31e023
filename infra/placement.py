"""Where the stack's resources go: one resource group, one region, one set of tags.

Every component takes a `Placement` instead of the same three arguments apiece, and the tags go
on everything through it (not through a stack transform, which does not run under mocks:
pulumi.com/docs/iac/guides/testing/unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import resources


@dataclass(frozen=True)
class Placement:
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str] = field(default_factory=dict)


def stack_resource_group(location: str) -> Placement:
    """The stack's resource group `rg-<project>-<stack>`, and the placement inside it."""
    project, stack = pulumi.get_project(), pulumi.get_stack()
    tags = {"project": project, "stack": stack}
    group = resources.ResourceGroup(
        "rg", resource_group_name=f"rg-{project}-{stack}", location=location, tags=tags
    )
    return Placement(group.name, location, tags)
