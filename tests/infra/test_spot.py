"""Spot nodes on the execution pool: the autoscale formula sets both targets, evaluated here on
sample values the way Batch evaluates it (statements in order, doubles, the targets truncated:
the formula rounds up itself by adding slots-1 first)."""

from __future__ import annotations

import re

import pytest

from infra.components.batch import autoscale_formula
from infra.config import ConfigError, StackConfig
from offline import Recording

POOL = "azure-native:batch:Pool"


def evaluate(
    formula: str, pending: float, preempted: float = 0.0, spot_present: float | None = None
) -> dict[str, object]:
    """Batch's service variables replaced by samples; `a ? b : c` by Python's conditional."""
    values: dict[str, object] = {"taskcompletion": "taskcompletion"}
    # $CurrentLowPriorityNodes counts preempted nodes too; by default every Spot node wanted is
    # there (the formula's previous target), `spot_present` of them not preempted otherwise.
    present = spot_present
    current = "$CurrentLowPriorityNodes"
    for statement in filter(None, (s.strip() for s in formula.split(";"))):
        target, expression = (part.strip() for part in statement.split("=", 1))
        expression = re.sub(r"\$PendingTasks\.GetSamplePercent\([^)]*\)", "100", expression)
        expression = re.sub(r"avg\(\$PendingTasks\.GetSample\([^)]*\)\)", str(pending), expression)
        expression = re.sub(r"\$PendingTasks\.GetSample\(1\)", str(pending), expression)
        expression = re.sub(r"\$PreemptedNodeCount\.GetSample\(1\)", str(preempted), expression)
        if current in expression:
            spot = float(values["$spot"])  # type: ignore[arg-type]
            there = (spot - preempted) if present is None else present
            expression = expression.replace(current, str(there + preempted))
        conditional = re.fullmatch(r"(.+?) \? (.+?) : (.+)", expression)
        if conditional:
            expression = f"({conditional[2]}) if ({conditional[1]}) else ({conditional[3]})"
        python = expression.replace("$", "v_")
        names = {f"v_{k.lstrip('$')}": v for k, v in values.items() if k.startswith("$")}
        values[target] = eval(python, {"min": min, "max": max}, {**names, **values})
    return {
        "dedicated": int(values["$TargetDedicatedNodes"]),  # type: ignore[call-overload]
        "spot": int(values["$TargetLowPriorityNodes"]),  # type: ignore[call-overload]
        "deallocation": values["$NodeDeallocationOption"],
    }


def test_without_spot_the_formula_is_dedicated_only_and_unchanged() -> None:
    formula = autoscale_formula(4, 4)
    assert "$TargetLowPriorityNodes = 0;" in formula
    assert "PreemptedNodeCount" not in formula
    assert evaluate(formula, pending=9) == {
        "dedicated": 3, "spot": 0, "deallocation": "taskcompletion"
    }  # fmt: skip
    assert evaluate(formula, pending=0)["dedicated"] == 0


@pytest.mark.parametrize(
    ("pending", "preempted", "spot", "dedicated"),
    [
        (0, 0, 0, 0),  # idle: nothing at all
        (3, 0, 1, 0),  # one node's work: Spot
        (8, 0, 2, 0),  # two nodes' work, two Spot allowed: all Spot
        (20, 0, 2, 3),  # five nodes' work: Spot first, the rest dedicated
        (8, 1, 2, 1),  # a Spot node preempted: a dedicated node takes its tasks
        (8, 2, 2, 2),
        (64, 2, 2, 4),  # never more dedicated than executionMaxNodes
    ],
)
def test_spot_first_then_dedicated_and_a_preempted_node_is_replaced(
    pending: int, preempted: int, spot: int, dedicated: int
) -> None:
    formula = autoscale_formula(4, 4, max_spot_nodes=2)
    result = evaluate(formula, pending=pending, preempted=preempted)
    assert (result["spot"], result["dedicated"]) == (spot, dedicated)
    assert result["deallocation"] == "taskcompletion"


@pytest.mark.parametrize(
    ("pending", "spot_present", "dedicated"),
    [
        (8, 0, 2),  # no Spot node ever arrives (quota 0): dedicated nodes do the work
        (20, 0, 4),  # ... within executionMaxNodes
        (8, 1, 1),  # one of two arrived: a dedicated node for the other
        (8, 2, 0),  # both there: none
    ],
)
def test_dedicated_nodes_cover_the_spot_nodes_that_are_not_there(
    pending: int, spot_present: int, dedicated: int
) -> None:
    formula = autoscale_formula(4, 4, max_spot_nodes=2)
    result = evaluate(formula, pending=pending, spot_present=spot_present)
    assert (result["spot"], result["dedicated"]) == (2, dedicated)


def test_dev_uses_spot_by_default_and_prod_does_not(recordings: dict[str, Recording]) -> None:
    def execution_formula(stack: str) -> str:
        pool = recordings[stack].one(POOL, "pools-execution")
        return str(pool.inputs["scaleSettings"]["autoScale"]["formula"])

    dev, prod = execution_formula("dev"), execution_formula("prod")
    assert "$spot = max(0, min(2, $wanted));" in dev  # Pulumi.dev.yaml executionMaxSpotNodes
    assert evaluate(dev, pending=8)["spot"] == 2
    assert "$TargetLowPriorityNodes = 0;" in prod
    orchestrator = recordings["dev"].one(POOL, "pools-orchestrator")
    # The orchestrator's runs wait hours for their jobs: never on a node that can be taken.
    assert (
        "$TargetLowPriorityNodes = 0;"
        in orchestrator.inputs["scaleSettings"]["autoScale"]["formula"]
    )


def test_a_negative_spot_count_is_refused() -> None:
    with pytest.raises(ConfigError, match="executionMaxSpotNodes"):
        StackConfig.from_values("westeurope", {"executionMaxSpotNodes": "-1"})
