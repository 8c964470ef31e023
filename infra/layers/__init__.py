"""The stack in four layers, each a component the program declares in order (infra/program.py):

- foundation.py     the network, one identity per job, monitoring, the Key Vault, the registry
- data.py           the data lake, the Batch storage account, and who may upload bags
- compute.py        the Batch account, the code it runs (image, package), the two pools
- orchestration.py  the Data Factory, its pipeline and schedule, the sample bag seeded in raw/

The components inside keep the logical names they had when the program declared them at the
stack's root, and say so with an alias, so an existing stack keeps every Azure resource
(tests/infra/test_state_continuity.py).
"""

from __future__ import annotations

import pulumi


def moved_under(layer: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options for a component declared at the stack's root before the layers existed.

    Its URN, and every descendant's, now names the layer; the alias tells `pulumi up` the old
    URNs are the same resources, so nothing is replaced (pulumi.com/docs/iac/concepts/resources/
    options/aliases: children inherit their parent's aliases).
    """
    return pulumi.ResourceOptions(
        parent=layer, aliases=[pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE)]
    )
