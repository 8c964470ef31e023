"""The orchestrator at 10,000 bags (scripts/bench_fleet.py, not timed): requests grow with the
number of tasks / 100, not per task, and outputs.json stays within its budget."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from orchestrator.adf import OUTPUTS_BUDGET_BYTES
from scripts.bench_fleet import FAILING_EVERY, measure

# learn.microsoft.com/rest/api/batchservice/task/add-collection: "The maximum number of tasks
# in a collection is 100" (checked 2026-12-02).
TASKS_PER_ADD_REQUEST = 100
BAGS = 10_000


@pytest.mark.slow
def test_ten_thousand_bags_need_linear_requests_and_a_capped_outputs_json(tmp_path: Path) -> None:
    figures = measure(BAGS, tmp_path)

    assert figures.tasks > BAGS  # the sparse 10 GiB placeholders were sharded
    assert figures.requests["add_tasks"] <= math.ceil(figures.tasks / TASKS_PER_ADD_REQUEST)
    # Listings page 1,000 tasks at a time: the outcomes, and the failures once per poll.
    pages = math.ceil(figures.tasks / 1000)
    assert figures.requests["list_tasks"] <= pages + figures.requests["task_counts"] * 2
    # Nothing per task: every other request kind is a handful, whatever the number of bags.
    per_run = sum(
        count
        for kind, count in figures.requests.items()
        if kind not in ("add_tasks", "list_tasks", "task_counts")
    )
    assert per_run <= 30
    assert figures.outputs_bytes <= OUTPUTS_BUDGET_BYTES
    assert figures.results_omitted > 0
    assert figures.results_listed + figures.results_omitted == BAGS
    # Failures first, so that a truncated document still names every failed bag.
    document = json.loads((tmp_path / "wd" / "outputs.json").read_text(encoding="utf-8"))
    statuses = [entry["status"] for entry in document["results"]]
    failed = BAGS // FAILING_EVERY
    assert statuses[:failed] == ["failed"] * failed
    assert "failed" not in statuses[failed:]
    assert document["bags"]["total"] == BAGS
    assert document["bags"]["failed"] == failed
    assert document["succeeded"] is False
    assert document["resultsOmitted"] == BAGS - len(document["results"])
