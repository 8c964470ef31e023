"""A loopback fake of the few Azure endpoints `ops run` calls, over TLS (azure-core sends bearer
tokens only over https): Data Factory's createRun, pipeline run get/cancel and activity run
query, and Batch's job task counts, job get and job terminate.

A run follows a scripted list of phases; each pipeline-run GET moves one phase on (the last phase
holds), so a test decides exactly what `ops run` sees on each poll. Every request is recorded.
Batch can be told to refuse its data-plane calls (`BatchFault`) as the real service does: a 403 for
a caller without a data role, a 5xx when it is busy, each with Batch's own error body.

With a `pipeline` (the Pipeline resource the Pulumi program declares), how the run ends is not
scripted: tests/ops/adf_pipeline.py runs the declared activities as ADF would, with the Custom
activity ending as `orchestrator` says, and the pipeline's status, message and activity runs are
what it finds.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from tests.loopback_tls import LoopbackTlsServer
from tests.ops.adf_pipeline import CustomRun, PipelineRun, run_pipeline

RUN_ID = "8d6a1f0e-3b8b-4c4e-9a52-0c1d2e3f4a5b"
ACTIVITY_NAME = "extract-bags"
_FACTORY = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.DataFactory/factories/(?P<factory>[^/]+)"
)


@dataclass(frozen=True)
class Phase:
    """What the services report during one poll of the pipeline run."""

    pipeline_status: str
    activity_status: str | None = None  # None: the activity has not started
    task_counts: dict[str, int] | None = None  # None: the Batch job does not exist yet


@dataclass(frozen=True)
class BatchFault:
    """Batch answering `status` with its documented error body instead of the real answer.

    The body shape (`code`, `message.lang`/`message.value`, `values`) is Batch's own:
    learn.microsoft.com/rest/api/batchservice/batch-status-and-error-codes ("API operations may
    also return additional error information"), and what azure-batch 15.x deserializes into
    `azure.batch.models.BatchError` (models/_models.py, class BatchError).
    """

    status: int
    code: str
    message: str
    times: int | None = None  # answer this many requests so, then recover; None: every request

    def body(self) -> dict[str, Any]:
        return {
            "odata.metadata": "https://batchrosbagdev.westeurope.batch.azure.com/$metadata"
            "#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element",
            "code": self.code,
            "message": {
                "lang": "en-US",
                "value": f"{self.message}\nRequestId:5c4f2a8e-0000-4000-8000-000000000000"
                "\nTime:2026-11-24T22:01:00.0000000Z",
            },
        }


# A caller signed in with Entra ID but holding no Batch data role on the account: Batch's RBAC
# refuses the data action (Microsoft.Batch/batchAccounts/jobs/read) with 403. The roles that grant
# it (dataActions Microsoft.Batch/batchAccounts/jobs/*) are Azure Batch Job Submitter, Azure Batch
# Data Contributor and Azure Batch Account Contributor
# (learn.microsoft.com/azure/role-based-access-control/built-in-roles/compute). The code is one of
# Batch's documented 403 codes (learn.microsoft.com/dotnet/api/azure.compute.batch.batcherrorcode
# .insufficientaccountpermissions); which 403 code the RBAC check itself sends is not documented,
# so ops keys off the status alone (docs/azure-behaviour.md, Batch data plane).
BATCH_FORBIDDEN = BatchFault(
    403,
    "InsufficientAccountPermissions",
    "The account being accessed does not have sufficient permissions to execute this operation.",
)
# Batch busy: 503 ServerBusy (learn.microsoft.com/dotnet/api/azure.compute.batch.batcherrorcode
# .serverbusy, "the Batch service is busy"). azure-core's RetryPolicy retries 500/502/503/504 three
# times itself (azure/core/pipeline/policies/_retry.py, _RETRY_CODES) before raising.
BATCH_BUSY = BatchFault(
    503,
    "ServerBusy",
    "The server is currently unable to receive requests. Please retry your request.",
)


@dataclass
class Scenario:
    phases: list[Phase]
    activity_output: dict[str, Any] | None = None  # given once the activity has ended
    activity_error: dict[str, Any] | None = None
    pipeline_message: str = ""
    duration_ms: int = 252_000
    refuse_create_run: bool = False  # answer createRun as ARM does without the role
    batch_fault: BatchFault | None = None  # how Batch answers its data-plane calls
    # Answer this many pipeline-run GETs with 503 first, and then every one with 403 if set.
    pipeline_run_busy: int = 0
    pipeline_run_forbidden: bool = False
    pipeline: dict[str, Any] | None = None  # the declared pipeline: run it (see the docstring)
    orchestrator: CustomRun | None = None  # how its Custom activity ends, each attempt

    def ended(self) -> PipelineRun | None:
        if self.pipeline is None or self.orchestrator is None:
            return None
        outcome = self.orchestrator
        return run_pipeline(self.pipeline, lambda activity, attempt: outcome, run_id=RUN_ID)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str
    body: Any


@dataclass
class FakeAzure:
    base_url: str
    scenario: Scenario
    requests: list[Request] = field(default_factory=list)
    polls: int = 0
    cancelled: bool = False
    terminated_jobs: list[str] = field(default_factory=list)
    batch_faults_answered: int = 0
    pipeline_run_faults_answered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def phase(self) -> Phase:
        return self.scenario.phases[min(self.polls, len(self.scenario.phases)) - 1]

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]


def _counts(counts: dict[str, int]) -> dict[str, int]:
    full = {"active": 0, "running": 0, "succeeded": 0, "failed": 0, **counts}
    full["completed"] = full["succeeded"] + full["failed"]
    return full


def _handler(fake: FakeAzure) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest output clean

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with fake.lock:
                fake.requests.append(
                    Request(
                        method,
                        url.path,
                        parse_qs(url.query),
                        self.headers.get("Authorization", ""),
                        body,
                    )
                )
                status, payload = _route(fake, method, url.path, body)
            self._reply(status, payload)

        def _reply(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _arm_error(code: str, message: str) -> dict[str, Any]:
    """ARM's error body: github.com/Azure/azure-resource-manager-rpc, v1.0/common-api-details.md
    ("Error Response Content": `error.code`, `error.message`)."""
    return {"error": {"code": code, "message": message}}


Answer = tuple[int, Any]
_RUN_PATH = _FACTORY + f"/pipelineruns/{RUN_ID}"
_FORBIDDEN = (
    "The client 'ci' does not have authorization to perform action 'Microsoft.DataFactory/{}'."
)


def _create_run(fake: FakeAzure, method: str, match: re.Match[str]) -> Answer:
    if fake.scenario.refuse_create_run:
        return 403, _arm_error(
            "AuthorizationFailed", _FORBIDDEN.format("factories/pipelines/createrun/action")
        )
    return 200, {"runId": RUN_ID}


def _pipeline_run(fake: FakeAzure, method: str, match: re.Match[str]) -> Answer:
    scenario = fake.scenario
    if fake.pipeline_run_faults_answered < scenario.pipeline_run_busy:
        fake.pipeline_run_faults_answered += 1
        return 503, _arm_error("ServiceUnavailable", "The service is temporarily unavailable.")
    if scenario.pipeline_run_forbidden:
        return 403, _arm_error(
            "AuthorizationFailed", _FORBIDDEN.format("factories/pipelineruns/read")
        )
    fake.polls += 1
    status = "Cancelled" if fake.cancelled else fake.phase().pipeline_status
    ended = status in ("Succeeded", "Failed", "Cancelled")
    message = scenario.pipeline_message
    engine = scenario.ended() if ended and not fake.cancelled else None
    if engine is not None:
        status, message = engine.status, engine.message
    return 200, {
        "runId": RUN_ID,
        "pipelineName": "extract-bags",
        "status": status,
        "message": message if ended else "",
        "runStart": "2026-11-24T22:00:00Z",
        **(
            {"runEnd": "2026-11-24T22:04:12Z", "durationInMs": scenario.duration_ms}
            if ended
            else {}
        ),
    }


def _activity_runs(fake: FakeAzure, method: str, match: re.Match[str]) -> Answer:
    scenario, phase = fake.scenario, fake.phase()
    if phase.activity_status is None:
        return 200, {"value": []}
    ended = phase.activity_status in ("Succeeded", "Failed", "Cancelled")
    engine = scenario.ended() if ended else None
    if engine is not None:
        return 200, {"value": [run.as_rest(RUN_ID) for run in engine.activities]}
    run: dict[str, Any] = {
        "activityName": ACTIVITY_NAME,
        "activityType": "Custom",
        "activityRunId": "c0ffee00-0000-4000-8000-000000000001",
        "pipelineRunId": RUN_ID,
        "status": phase.activity_status,
        "activityRunStart": "2026-11-24T22:00:05Z",
        "input": {"command": "run-orchestrator extract --executor batch"},
        "output": scenario.activity_output if ended else None,
        "error": (scenario.activity_error if ended else None)
        or {"errorCode": "", "message": "", "failureType": "", "target": ACTIVITY_NAME},
    }
    return 200, {"value": [run]}


def _cancel(fake: FakeAzure, method: str, match: re.Match[str]) -> Answer:
    fake.cancelled = True
    return 200, None


def _batch_job(fake: FakeAzure, method: str, match: re.Match[str]) -> Answer:
    fault = fake.scenario.batch_fault
    if fault and (fault.times is None or fake.batch_faults_answered < fault.times):
        fake.batch_faults_answered += 1
        return fault.status, fault.body()
    counts = fake.phase().task_counts
    if counts is None:
        return 404, {
            "code": "JobNotFound",
            "message": {"lang": "en-US", "value": "The specified job does not exist."},
        }
    if match["rest"] == "/taskcounts":
        return 200, {"taskCounts": _counts(counts), "taskSlotCounts": _counts(counts)}
    if match["rest"] == "/terminate" and method == "POST":
        fake.terminated_jobs.append(match["job"])
        return 202, None
    state = "completed" if match["job"] in fake.terminated_jobs else "active"
    return 200, {"id": match["job"], "state": state}


# (methods, none = any; path pattern; handler): the first match answers.
_ROUTES: list[tuple[tuple[str, ...], str, Callable[[FakeAzure, str, re.Match[str]], Answer]]] = [
    (("POST",), _FACTORY + r"/pipelines/[^/]+/createRun", _create_run),
    (("GET",), _RUN_PATH, _pipeline_run),
    (("POST",), _RUN_PATH + "/queryActivityruns", _activity_runs),
    (("POST",), _RUN_PATH + "/cancel", _cancel),
    ((), r"/jobs/(?P<job>[^/]+)(?P<rest>/taskcounts|/terminate)?", _batch_job),
]


def _route(fake: FakeAzure, method: str, path: str, body: Any) -> Answer:
    for methods, pattern, handler in _ROUTES:
        match = re.fullmatch(pattern, path)
        if match and (not methods or method in methods):
            return handler(fake, method, match)
    return 404, {"error": {"code": "NotFound", "message": f"fake has no {method} {path}"}}


@contextmanager
def serve_fake_azure(scenario: Scenario, ca: trustme.CA) -> Iterator[FakeAzure]:
    """Serve `scenario` on 127.0.0.1 over TLS with a certificate from `ca`; always shut down."""
    server = LoopbackTlsServer(ca)
    fake = FakeAzure(server.url, scenario)
    server.start(_handler(fake))
    try:
        yield fake
    finally:
        server.stop()
