"""The orchestrator at 10,000 bags (scripts/bench_fleet.py, not timed): requests grow with the
number of tasks / 100, not per task, and outputs.json stays within its budget."""

from __future__ import annotations

import json
import math
from pathlib import Path, PurePosixPath

import pytest

from orchestrator.adf import OUTPUTS_BUDGET_BYTES
from orchestrator.discovery import Bag
from orchestrator.executors.batch import ADD_TASK_SLICE, BatchExecutor
from orchestrator.executors.batch_tasks import ContainerTaskSettings
from orchestrator.plan import Plan, PlanOptions, build_plan
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


class _CountingClient:
    """Stands in for BatchClient.create_tasks only: records how many task models each call got."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def create_tasks(self, job_id: str, tasks: list[object], **options: object) -> None:
        self.calls.append(len(tasks))


def _plan(bags: int) -> Plan:
    found = [
        Bag(PurePosixPath(f"raw/day/drive-{index:05d}.bag"), 16, PurePosixPath("day"))
        for index in range(bags)
    ]
    return build_plan("job", PurePosixPath("raw"), PurePosixPath("out"), found, PlanOptions())


def test_tasks_are_built_and_submitted_a_slice_at_a_time() -> None:
    """An SDK task model weighs about 8 KB (measured: 10,000 of them, 79 MB of RSS): the
    executor must not hold every task's model at once, only a slice of them."""
    client = _CountingClient()
    executor = BatchExecutor(
        client,  # type: ignore[arg-type]  # only create_tasks is called
        "execution",
        ContainerTaskSettings(
            image="example.azurecr.io/processor:1",
            registry_server="example.azurecr.io",
            execution_identity_resource_id="/subscriptions/0/x/identity",
            mount_path="data",
            task_logs_container_url="https://logs.blob.core.windows.net/task-logs",
        ),
        timeout_seconds=60,
    )
    plan = _plan(2_500)

    executor._add_tasks("job", plan.tasks)

    assert sum(client.calls) == 2_500
    assert max(client.calls) <= ADD_TASK_SLICE < 2_500
    # Every slice but the last is whole: no request carries fewer than 100 tasks needlessly.
    assert all(count % TASKS_PER_ADD_REQUEST == 0 for count in client.calls[:-1])
