"""The readable end of `ops run`: what ran, what came out, where to look next."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ops.cloud import (
    CloudEndpoints,
    batch_account_resource_id,
    factory_resource_id,
    pipeline_run_monitoring_url,
    portal_resource_url,
)
from ops.progress import clock_text
from ops.run_state import RunResult
from ops.stack_outputs import StackOutputs


@dataclass(frozen=True)
class BagLine:
    bag: str
    status: str
    output: str
    topics: int
    messages: int
    error: str

    @property
    def extracted(self) -> bool:
        """Output is complete (now or from an earlier run): the orchestrator's ok statuses."""
        return not self.error and self.status in ("succeeded", "partial", "unchanged")


def bag_lines(custom_output: dict[str, Any] | None) -> list[BagLine]:
    """The per-bag results of the orchestrator's outputs.json (docs/contracts.md §3)."""
    bags = (custom_output or {}).get("bags")
    if not isinstance(bags, list):
        return []
    return [_bag_line(entry) for entry in bags if isinstance(entry, dict)]


def _bag_line(entry: dict[str, Any]) -> BagLine:
    nested = entry.get("counts")
    counts: dict[str, Any] = nested if isinstance(nested, dict) else entry
    return BagLine(
        bag=str(entry.get("bag", "?")),
        status=str(entry.get("status", "?")),
        output=str(entry.get("output", "")),
        topics=_int(counts.get("topics")),
        messages=_int(counts.get("messages")),
        error=str(entry.get("error") or ""),
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def output_url(outputs: StackOutputs, path: str) -> str:
    """A data-lake path (relative to the container) as a URL Storage Explorer and azcopy open."""
    return (
        f"https://{outputs.data_lake_account_name}.blob.core.windows.net/"
        f"{outputs.data_lake_container}/{path.lstrip('/')}"
    )


def links(result: RunResult, outputs: StackOutputs, cloud: CloudEndpoints) -> list[tuple[str, str]]:
    factory_id = factory_resource_id(
        outputs.subscription_id, outputs.resource_group_name, outputs.data_factory_name
    )
    batch_id = batch_account_resource_id(
        outputs.subscription_id, outputs.resource_group_name, outputs.batch_account_name
    )
    found: list[tuple[str, str]] = [
        ("ADF monitoring", pipeline_run_monitoring_url(cloud, factory_id, result.run_id)),
        ("Batch account", f"{portal_resource_url(cloud, batch_id)} (Jobs > {result.job_id})"),
    ]
    found.extend(("orchestrator log", url) for url in result.activity_log_urls)
    task_logs = (result.custom_output or {}).get("taskLogs")
    if isinstance(task_logs, str) and task_logs:
        found.append(("task logs", task_logs))
    return found


def render_summary(result: RunResult, outputs: StackOutputs, cloud: CloudEndpoints) -> str:
    lines = [
        f"Pipeline run {result.run_id} {result.verdict} after {clock_text(result.duration_seconds)}"
        + (f": {result.message}" if result.message and not result.ok else ""),
        f"  pipeline    {outputs.pipeline_name} in factory {outputs.data_factory_name} "
        f"(resource group {outputs.resource_group_name})",
        "  parameters  " + " ".join(f"{k}={v}" for k, v in sorted(result.parameters.items())),
    ]
    if result.tasks is not None:
        lines.append(f"  Batch job   {result.job_id}: {result.tasks.describe()}")
    lines.extend(f"  note        {note}" for note in result.notes)
    for activity in result.activities:
        if activity.error is not None:
            lines.append(f"  error       {activity.name}: {activity.error.describe()}")

    bags = bag_lines(result.custom_output)
    if bags:
        failed = sum(1 for bag in bags if not bag.extracted)
        lines += ["", f"Bags: {len(bags)} ({failed} failed)"]
        width = max(len(bag.status) for bag in bags)
        lines.append(f"  {'status':<{width}}  {'topics':>6}  {'messages':>12}  bag -> output")
        for bag in bags:
            lines.append(
                f"  {bag.status:<{width}}  {bag.topics:>6}  {bag.messages:>12,}  "
                f"{bag.bag} -> {output_url(outputs, bag.output) if bag.output else '-'}"
            )
            if bag.error:
                lines.append(f"  {'':<{width}}  {'':>6}  {'':>12}  ! {bag.error}")
        lines.append(
            f"  {'total':<{width}}  {sum(b.topics for b in bags):>6}  "
            f"{sum(b.messages for b in bags):>12,}"
        )
    elif result.ok:
        lines += ["", "Bags: the orchestrator reported none (is the input path empty?)"]

    lines += ["", "Links"]
    found = links(result, outputs, cloud)
    width = max(len(label) for label, _ in found)
    lines.extend(f"  {label:<{width}}  {url}" for label, url in found)
    return "\n".join(lines)


def summary_json(result: RunResult, outputs: StackOutputs, cloud: CloudEndpoints) -> str:
    """The same facts for machines (CI steps that want to assert on them)."""
    document = {
        "runId": result.run_id,
        "verdict": str(result.verdict),
        "pipelineStatus": result.pipeline_status,
        "message": result.message,
        "durationSeconds": round(result.duration_seconds, 3),
        "parameters": result.parameters,
        "jobId": result.job_id,
        "taskCounts": None
        if result.tasks is None
        else {
            "active": result.tasks.active,
            "running": result.tasks.running,
            "succeeded": result.tasks.succeeded,
            "failed": result.tasks.failed,
        },
        "errors": [
            {"activity": a.name, "code": a.error.code, "message": a.error.message}
            for a in result.activities
            if a.error is not None
        ],
        "bags": [
            {
                "bag": bag.bag,
                "status": bag.status,
                "output": output_url(outputs, bag.output) if bag.output else None,
                "topics": bag.topics,
                "messages": bag.messages,
                "error": bag.error or None,
            }
            for bag in bag_lines(result.custom_output)
        ],
        "notes": result.notes,
        "links": dict(links(result, outputs, cloud)),
    }
    return json.dumps(document, indent=2)
