"""Logs, traces and metrics: Application Insights when configured, plain structured logs
otherwise.

Only the orchestrator reports, and it reports each bag from what it learns anyway (its tasks'
start and end times, exit codes and retries; the counts in its manifest): a span per bag with
a child per task, and the `rosbag.bags`, `rosbag.messages` and `rosbag.bag.duration` metrics.
The processor sends nothing, and its tasks get no connection string: what parses untrusted
input holds the least.

Telemetry is never a reason to fail a run: every step here degrades to a
warning in the local log.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from orchestrator.outcome import BagResult, BagStatus, TaskOutcome
from orchestrator.plan import Plan

if TYPE_CHECKING:  # azure-core comes with the [batch] extra; local runs need none
    from azure.core.credentials import TokenCredential
    from opentelemetry.metrics import Meter
    from opentelemetry.trace import Tracer


CONNECTION_STRING_ENV = "APPLICATIONINSIGHTS_CONNECTION_STRING"
_LOG_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"

log = logging.getLogger(__name__)


def configure_logging(verbose: bool = False) -> None:
    """key=value lines on stderr; stdout stays for progress and the summary."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format=_LOG_FORMAT,
        stream=sys.stderr,
        force=True,
    )
    # The SDKs log every HTTP request at INFO: keep them for --verbose.
    logging.getLogger("azure").setLevel(logging.DEBUG if verbose else logging.WARNING)


def connection_string_from_key_vault(
    vault_uri: str, secret_name: str, credential: TokenCredential, **client_options: Any
) -> str | None:
    """The Application Insights connection string kept in Key Vault, or None with a warning."""
    try:
        from azure.keyvault.secrets import SecretClient

        client = SecretClient(vault_url=vault_uri, credential=credential, **client_options)
        return client.get_secret(secret_name).value
    except Exception as error:  # telemetry must never fail the run
        log.warning(
            "no Application Insights: cannot read %s from %s: %s", secret_name, vault_uri, error
        )
        return None


def enable_azure_monitor(connection_string: str | None) -> bool:
    """Send logs and traces to Application Insights; False (and a warning) when it cannot."""
    if not connection_string:
        return False
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(
            connection_string=connection_string,
            logger_name="orchestrator",
            # On by default in azure-monitor-opentelemetry; a run lasts up to 11 hours and
            # nobody watches it live (ops and ADF report it).
            enable_live_metrics=False,
        )
    except Exception as error:  # telemetry must never fail the run
        log.warning("Application Insights unavailable, logging locally only: %s", error)
        return False
    return True


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[None]:
    """A trace span when OpenTelemetry is installed, nothing otherwise."""
    try:
        from opentelemetry import trace
    except ImportError:
        yield
        return
    tracer = trace.get_tracer("orchestrator")
    with tracer.start_as_current_span(name, attributes=attributes):
        yield


def connection_string_from_env() -> str | None:
    return os.environ.get(CONNECTION_STRING_ENV) or None


_ATTRIBUTE_LIMIT = 1024  # bag paths come from the input: bounded before they are sent


def _nanoseconds(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1e9)


def record_bags(
    plan: Plan,
    results: Sequence[BagResult],
    outcomes: Mapping[str, TaskOutcome],
    *,
    tracer: Tracer | None = None,
    meter: Meter | None = None,
) -> None:
    """A span per bag that ran (its tasks' times, children per task) and the bag metrics."""
    try:
        from opentelemetry import metrics, trace
    except ImportError:
        return
    try:
        tracer = tracer or trace.get_tracer("orchestrator")
        meter = meter or metrics.get_meter("orchestrator")
        bags = meter.create_counter("rosbag.bags", unit="{bag}", description="bags by status")
        messages = meter.create_counter(
            "rosbag.messages", unit="{message}", description="messages extracted"
        )
        durations = meter.create_histogram(
            "rosbag.bag.duration", unit="s", description="task time spent on a bag"
        )
        by_path = {str(result.bag): result for result in results}
        for bag in plan.bags:
            result = by_path.get(str(bag.bag.path))
            if result is None:
                continue
            bags.add(1, {"rosbag.status": str(result.status)})
            if result.counts.known and result.status is not BagStatus.FAILED:
                messages.add(result.counts.messages)
            if result.seconds is not None:
                durations.record(result.seconds, {"rosbag.status": str(result.status)})
            ran = [outcomes[task] for task in bag.task_ids if task in outcomes]
            _bag_span(trace, tracer, result, [o for o in ran if o.started and o.ended])
    except Exception as error:  # telemetry must never fail the run
        log.warning("telemetry: could not report the bags: %s", error)


def _bag_span(trace: Any, tracer: Tracer, result: BagResult, ran: list[TaskOutcome]) -> None:
    if not ran:
        return  # unchanged or never started: nothing happened to time
    start = min(o.started for o in ran if o.started)
    end = max(o.ended for o in ran if o.ended)
    attributes: dict[str, Any] = {
        "rosbag.bag": str(result.bag)[:_ATTRIBUTE_LIMIT],
        "rosbag.status": str(result.status),
        "rosbag.output": str(result.output)[:_ATTRIBUTE_LIMIT],
        "rosbag.tasks": len(ran),
    }
    if result.counts.known:
        attributes.update(
            {
                "rosbag.topics": result.counts.topics,
                "rosbag.messages": result.counts.messages,
                "rosbag.files": result.counts.files,
            }
        )
    span = tracer.start_span(
        f"bag {result.bag}"[:_ATTRIBUTE_LIMIT],
        start_time=_nanoseconds(start),
        attributes=attributes,
    )
    if not result.ok:
        reason = result.failed_task.reason if result.failed_task else str(result.status)
        span.set_status(trace.Status(trace.StatusCode.ERROR, reason[:_ATTRIBUTE_LIMIT]))
    parent = trace.set_span_in_context(span)
    for outcome in ran:
        task_attributes = {"rosbag.retries": outcome.retries}
        if outcome.exit_code is not None:
            task_attributes["rosbag.exit_code"] = outcome.exit_code
        child = tracer.start_span(
            f"task {outcome.task_id}",
            context=parent,
            start_time=_nanoseconds(outcome.started or start),
            attributes=task_attributes,
        )
        child.end(end_time=_nanoseconds(outcome.ended or end))
    span.end(end_time=_nanoseconds(end))
