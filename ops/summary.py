"""The readable end of `ops run`: what ran, what came out, where to look next.

The per-bag facts come from the orchestrator's outputs.json, which ADF returns as the activity's
`customOutput` (apps/orchestrator/orchestrator/adf.py `outputs_document`): totals always,
per-bag `results` (failed bags first) as long as they fit in ADF's 2 MB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ops.cloud import (
    CloudEndpoints,
    batch_account_resource_id,
    factory_resource_id,
    pipeline_run_monitoring_url,
    portal_resource_url,
)
from ops.progress import clock_text
from ops.run_state import RunResult, Verdict
from ops.stack_outputs import StackOutputs

# The orchestrator's bag statuses whose output is complete (orchestrator.outcome.BagResult.ok).
EXTRACTED_STATUSES = ("succeeded", "partial", "unchanged")
# Where the orchestrator uploads each container task's stdout/stderr (docs/contracts.md §3), in
# the Batch storage account that also holds ADF's `adfjobs` staging container.
TASK_LOGS_CONTAINER = "task-logs"


@dataclass(frozen=True)
class BagLine:
    bag: str
    status: str
    output: str
    topics: int | None  # None: the orchestrator could not read the bag's manifest in time
    messages: int | None
    failed_task: str
    exit_code: int | None
    reason: str
    skipped: tuple[tuple[str, str], ...] = ()  # (topic, why) the processor left out

    @property
    def extracted(self) -> bool:
        return self.status in EXTRACTED_STATUSES


def bag_lines(custom_output: dict[str, Any] | None) -> list[BagLine]:
    results = (custom_output or {}).get("results")
    if not isinstance(results, list):
        return []
    return [_bag_line(entry) for entry in results if isinstance(entry, dict)]


def _bag_line(entry: dict[str, Any]) -> BagLine:
    exit_code = entry.get("exitCode")
    return BagLine(
        bag=str(entry.get("bag", "?")),
        status=str(entry.get("status", "?")),
        output=str(entry.get("output") or ""),
        topics=_count(entry.get("topics")),
        messages=_count(entry.get("messages")),
        failed_task=str(entry.get("failedTask") or ""),
        exit_code=exit_code if isinstance(exit_code, int) else None,
        reason=str(entry.get("reason") or ""),
        skipped=_skipped(entry.get("skipped")),
    )


def _skipped(value: object) -> tuple[tuple[str, str], ...]:
    entries = value if isinstance(value, list) else []
    return tuple(
        (str(item.get("topic", "?")), str(item.get("reason") or "no reason"))
        for item in entries
        if isinstance(item, dict)
    )


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _shown(value: int | None, width: int) -> str:
    return f"{value:>{width},}" if value is not None else f"{'?':>{width}}"


def extracted_bags(custom_output: dict[str, Any] | None) -> int:
    """Bags with complete output, from the totals (which count bags left out of `results`)."""
    totals = (custom_output or {}).get("bags")
    if isinstance(totals, dict):
        return sum(_int(totals.get(status)) for status in EXTRACTED_STATUSES)
    return sum(1 for bag in bag_lines(custom_output) if bag.extracted)


def output_url(outputs: StackOutputs, path: str) -> str:
    """A data-lake path (relative to the container) as a URL Storage Explorer and azcopy open."""
    return (
        f"https://{outputs.data_lake_account_name}.blob.core.windows.net/"
        f"{outputs.data_lake_container}/{path.strip('/')}/"
    )


def task_logs_root(result: RunResult) -> str | None:
    """`https://<batch storage>/task-logs/<job id>/`, found through the account of ADF's own
    activity logs (both live in the Batch storage account; the stack outputs don't name it)."""
    for url in result.activity_log_urls:
        parts = urlsplit(url)
        if parts.scheme == "https" and parts.netloc:
            return f"https://{parts.netloc}/{TASK_LOGS_CONTAINER}/{result.job_id}/"
    return None


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
    logs = task_logs_root(result)
    if logs:
        found.append(("task logs", logs + "<task id>/stdout.txt, stderr.txt"))
    return found


def _bag_rows(bag: BagLine, width: int, logs: str | None, outputs: StackOutputs) -> list[str]:
    """A bag's row, then why it failed or which topics it lacks."""
    target = output_url(outputs, bag.output) if bag.extracted and bag.output else "-"
    rows = [
        f"  {bag.status:<{width}}  {_shown(bag.topics, 6)}  {_shown(bag.messages, 12)}"
        f"  {bag.bag} -> {target}"
    ]
    if not bag.extracted:
        exit_text = f"exit {bag.exit_code}" if bag.exit_code is not None else "did not end"
        where = f" in task {bag.failed_task}" if bag.failed_task else ""
        rows.append(f"  {'':<{width}}  ! {exit_text}{where}: {bag.reason or 'no reason'}")
        if logs and bag.failed_task:
            rows.append(f"  {'':<{width}}    {logs}{bag.failed_task}/stderr.txt")
    elif bag.reason:  # a partial bag: the topics it lacks, and why
        rows.append(f"  {'':<{width}}  ! {bag.reason}")
        rows.extend(f"  {'':<{width}}    {topic}: {why}" for topic, why in bag.skipped)
    return rows


def _bag_section(result: RunResult, outputs: StackOutputs) -> list[str]:
    custom = result.custom_output
    if custom is None:
        if result.verdict is Verdict.TIMED_OUT:
            return ["", "Bags: not reported (the run had not finished)"]
        return ["", "Bags: no report from the orchestrator (see the error and its log below)"]
    reported = custom.get("bags")
    totals: dict[str, Any] = reported if isinstance(reported, dict) else {}
    counted = ", ".join(
        f"{_int(totals.get(status))} {status}"
        for status in ("succeeded", "partial", "unchanged", "failed", "not started")
        if _int(totals.get(status))
    )
    lines = ["", f"Bags: {_int(totals.get('total'))}" + (f" ({counted})" if counted else "")]
    bags = bag_lines(custom)
    if not bags:
        if not _int(totals.get("total")):
            lines[-1] += f": none found under {result.parameters.get('inputPath', '?')}"
        return lines
    logs = task_logs_root(result)
    width = max(len("status"), *(len(bag.status) for bag in bags))
    lines.append(f"  {'status':<{width}}  {'topics':>6}  {'messages':>12}  bag -> output")
    for bag in bags:
        lines.extend(_bag_rows(bag, width, logs, outputs))
    topics = sum(bag.topics or 0 for bag in bags)
    lines.append(f"  {'total':<{width}}  {topics:>6}  {_int(custom.get('messages')):>12,}")
    unknown = _int(custom.get("countsUnknown"))
    if unknown:
        noun = "bag" if unknown == 1 else "bags"
        lines.append(f"  ({unknown} {noun} with counts not read in time: shown as ?)")
    omitted = _int(custom.get("resultsOmitted"))
    if omitted:
        noun = "bag" if omitted == 1 else "bags"
        lines.append(f"  ... and {omitted} more {noun} not listed (ADF's 2 MB output limit)")
    return lines


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
    if result.activities:
        lines += _bag_section(result, outputs)

    lines += ["", "Links"]
    found = links(result, outputs, cloud)
    width = max(len(label) for label, _ in found)
    lines.extend(f"  {label:<{width}}  {url}" for label, url in found)
    return "\n".join(lines)


def summary_json(result: RunResult, outputs: StackOutputs, cloud: CloudEndpoints) -> str:
    """The same facts for machines (CI steps that want to assert on them)."""
    custom = result.custom_output or {}
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
        "bagTotals": custom.get("bags"),
        "messages": custom.get("messages"),
        "bags": [
            {
                "bag": bag.bag,
                "status": bag.status,
                "output": output_url(outputs, bag.output) if bag.extracted and bag.output else None,
                "topics": bag.topics,
                "messages": bag.messages,
                "failedTask": bag.failed_task or None,
                "reason": bag.reason or None,
            }
            for bag in bag_lines(custom)
        ],
        "notes": result.notes,
        "links": dict(links(result, outputs, cloud)),
    }
    return json.dumps(document, indent=2)
