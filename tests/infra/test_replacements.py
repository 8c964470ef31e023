"""A replaced registry or Batch account comes back empty under the same name: the processor
image is built and the orchestrator package published again. Played against the subscription in
tests/infra/azure_rules.py."""

from __future__ import annotations

import pytest

from tests.infra.azure_rules import IMAGE, PACKAGE, Subscription


@pytest.mark.parametrize(
    ("replaced", "refilled"),
    [("registry-acr", IMAGE), ("batch-account", PACKAGE)],
)
def test_a_replaced_container_gets_its_artifact_again(
    azure: Subscription, replaced: str, refilled: str
) -> None:
    azure.up("dev")
    rec = azure.up("dev", replace=(replaced,))
    assert azure.refusals == [], "\n".join(map(str, azure.refusals))
    assert azure.plans[-1][rec.one(refilled).urn] == "replace"


def test_an_unchanged_up_rebuilds_nothing(azure: Subscription) -> None:
    azure.up("dev")
    rec = azure.up("dev")
    plan = azure.plans[-1]
    assert (plan[rec.one(IMAGE).urn], plan[rec.one(PACKAGE).urn]) == ("same", "same")
