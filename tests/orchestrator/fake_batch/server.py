"""A fake Azure Batch service on 127.0.0.1 over TLS, speaking REST as azure-batch 15.1 calls it.

Use it as a library:

    with FakeBatchService(tmp_path) as batch:
        client = make_batch_client(batch.url, FakeCredential(), connection_verify=batch.ca_file)
        ...
        batch.requests["add_tasks"], batch.state.jobs, batch.fail("task_counts", 429, times=2)
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from azure.core.credentials import AccessToken

from tests.loopback_tls import LoopbackTlsServer
from tests.orchestrator.fake_batch.state import (
    CommandMapper,
    Conflict,
    FakeBatchState,
    FakeJob,
    FakeTask,
    python_here,
)
from tests.orchestrator.fake_batch.validation import (
    InvalidBody,
    check_job,
    check_job_update,
    check_task,
    check_task_collection,
    task_filter,
)

API_VERSION = "2025-06-01"
PAGE_SIZE_LIMIT = 1000

Route = tuple[str, re.Pattern[str], str]
_ROUTES: list[Route] = [
    ("POST", re.compile(r"^/jobs$"), "create_job"),
    ("GET", re.compile(r"^/jobs/(?P<job>[^/]+)$"), "get_job"),
    ("PATCH", re.compile(r"^/jobs/(?P<job>[^/]+)$"), "update_job"),
    ("POST", re.compile(r"^/jobs/(?P<job>[^/]+)/terminate$"), "terminate_job"),
    ("GET", re.compile(r"^/jobs/(?P<job>[^/]+)/taskcounts$"), "task_counts"),
    ("POST", re.compile(r"^/jobs/(?P<job>[^/]+)/addtaskcollection$"), "add_tasks"),
    ("GET", re.compile(r"^/jobs/(?P<job>[^/]+)/tasks$"), "list_tasks"),
    ("POST", re.compile(r"^/jobs/(?P<job>[^/]+)/tasks/(?P<task>[^/]+)/terminate$"),
     "terminate_task"),
    ("POST", re.compile(r"^/jobs/(?P<job>[^/]+)/tasks/(?P<task>[^/]+)/reactivate$"),
     "reactivate_task"),
    ("GET", re.compile(r"^/jobs/(?P<job>[^/]+)/tasks/(?P<task>[^/]+)/files/(?P<file>.+)$"),
     "get_task_file"),
]  # fmt: skip


def _route(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    for verb, pattern, operation in _ROUTES:
        match = pattern.match(path)
        if verb == method and match:
            return operation, match.groupdict()
    return None


class FakeCredential:
    """A TokenCredential that hands out a fixed token (the fake checks it is sent)."""

    token = "fake-batch-token"
    scopes: tuple[str, ...] = ()  # what the last get_token asked for

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes = scopes
        return AccessToken(self.token, int(time.time()) + 3600)


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: float | None = None
    code: str = "Injected"


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FakeBatchService:
    """Start with `with FakeBatchService(work_dir) as batch:`; stopped on exit."""

    def __init__(
        self,
        work_dir: Path,
        *,
        slots: int = 2,
        run_tasks: bool = True,
        command_mapper: CommandMapper = python_here,
        node_environment: Mapping[str, str] | None = None,
        foreign_paths: Sequence[Path] = (),
    ) -> None:
        self.state = FakeBatchState(
            work_dir / "nodes",
            slots=slots,
            run_tasks=run_tasks,
            command_mapper=command_mapper,
            node_environment=node_environment,
            foreign_paths=foreign_paths,
        )
        self.requests: Counter[str] = Counter()
        self.bodies: dict[str, list[Any]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._server = LoopbackTlsServer()
        self.ca_file = self._server.write_ca(str(work_dir / "fake-batch-ca.pem"))
        self.url = self._server.url

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeBatchService:
        self.state.start()
        self._server.start(self._handler_class())
        return self

    def stop(self) -> None:
        self._server.stop()
        self.state.stop()

    def __enter__(self) -> FakeBatchService:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    # -- test controls ------------------------------------------------------------------

    def fail(
        self,
        operation: str,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        code: str = "Injected",
    ) -> None:
        """Answer the next `times` calls of `operation` with `status` (e.g. 429, 500) and the
        Batch error `code` (e.g. 409 `JobCompleted`)."""
        self._faults.setdefault(operation, []).append(_Fault(status, times, retry_after, code))

    def slow(self, operation: str, seconds: float) -> None:
        """Delay every answer to `operation` by `seconds`."""
        self._delays[operation] = seconds

    def wait_idle(self, job_id: str, timeout: float = 60) -> None:
        """Block until every task of the job has completed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.state.lock:
                job = self.state.job(job_id)
                if job and all(task.state == "completed" for task in job.tasks.values()):
                    return
            time.sleep(0.05)
        raise TimeoutError(f"job {job_id} still has unfinished tasks after {timeout} s")

    # -- request handling ---------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                service._handle(self, "GET")

            def do_POST(self) -> None:
                service._handle(self, "POST")

            def do_PATCH(self) -> None:
                service._handle(self, "PATCH")

        return Handler

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urlparse(handler.path)
        query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        routed = _route(method, parsed.path)
        if routed is None:
            self._send_error(
                handler, _ApiError(404, "InvalidUri", f"no route {method} {parsed.path}")
            )
            return
        operation, path_args = routed
        self.requests[operation] += 1
        try:
            if handler.headers.get("Authorization") != f"Bearer {FakeCredential.token}":
                raise _ApiError(401, "AuthenticationFailed", "missing or wrong bearer token")
            if query.get("api-version") != API_VERSION:
                raise _ApiError(400, "InvalidApiVersion", f"api-version {query.get('api-version')}")
            delay = self._delays.get(operation)
            if delay:
                time.sleep(delay)
            fault = self._next_fault(operation)
            if fault is not None:
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                self._send_error(
                    handler, _ApiError(fault.status, fault.code, "injected fault"), headers
                )
                return
            body = json.loads(raw) if raw else None
            self.bodies.setdefault(operation, []).append(body)
            action: Callable[..., tuple[int, Any, dict[str, str]]] = getattr(
                self, f"_op_{operation}"
            )
            status, payload, headers = action(body, query, **path_args)
        except InvalidBody as invalid:
            self._send_error(handler, _ApiError(400, invalid.code, str(invalid)))
            return
        except Conflict as conflict:
            self._send_error(handler, _ApiError(409, conflict.code, str(conflict)))
            return
        except _ApiError as error:
            self._send_error(handler, error)
            return
        self._send(handler, status, payload, headers)

    def _next_fault(self, operation: str) -> _Fault | None:
        with self.state.lock:
            for fault in self._faults.get(operation, []):
                if fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None

    @staticmethod
    def _send(
        handler: BaseHTTPRequestHandler, status: int, payload: Any, headers: dict[str, str]
    ) -> None:
        if isinstance(payload, bytes):
            data, content_type = payload, "application/octet-stream"
        elif payload is None:
            data, content_type = b"", "application/json"
        else:
            data, content_type = (
                json.dumps(payload).encode(),
                "application/json;odata=minimalmetadata",
            )
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("request-id", "fake")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _send_error(
        self,
        handler: BaseHTTPRequestHandler,
        error: _ApiError,
        headers: dict[str, str] | None = None,
    ) -> None:
        body = {"code": error.code, "message": {"lang": "en-US", "value": error.message}}
        self._send(handler, error.status, body, headers or {})

    def _job(self, job: str) -> FakeJob:
        found = self.state.job(job)
        if found is None:
            raise _ApiError(404, "JobNotFound", f"The specified job {job} does not exist.")
        return found

    def _task(self, job: str, task: str) -> tuple[FakeJob, FakeTask]:
        found = self._job(job)
        item = found.tasks.get(task.lower())
        if item is None:
            raise _ApiError(404, "TaskNotFound", f"The specified task {task} does not exist.")
        return found, item

    # -- operations (each returns status, payload, headers) ----------------------------------

    def _op_create_job(self, body: Any, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        check_job(body)
        with self.state.lock:
            if self.state.job(body["id"]) is not None:
                raise _ApiError(409, "JobExists", f"The specified job {body['id']} already exists.")
            self.state.jobs[body["id"].lower()] = FakeJob(body=body)
        return 201, None, {"Location": f"{self.url}/jobs/{body['id']}"}

    def _op_get_job(
        self, body: Any, query: dict[str, str], job: str
    ) -> tuple[int, Any, dict[str, str]]:
        with self.state.lock:
            return 200, self._job(job).to_json(self.url), {}

    def _op_update_job(
        self, body: Any, query: dict[str, str], job: str
    ) -> tuple[int, Any, dict[str, str]]:
        check_job_update(body)
        with self.state.lock:
            found = self._job(job)
            if found.state != "active":
                raise _ApiError(
                    409, "JobCompleted", "The specified job is already in a completed state."
                )
            found.body.update(body)
        return 200, None, {}

    def _op_terminate_job(
        self, body: Any, query: dict[str, str], job: str
    ) -> tuple[int, Any, dict[str, str]]:
        with self.state.lock:
            found = self._job(job)
            if found.state == "completed":
                raise _ApiError(
                    409, "JobCompleted", "The specified job is already in a completed state."
                )
            self.state.terminate(found, (body or {}).get("terminateReason") or "UserTerminate")
        return 202, None, {}

    def _op_task_counts(
        self, body: Any, query: dict[str, str], job: str
    ) -> tuple[int, Any, dict[str, str]]:
        with self.state.lock:
            counts = self._job(job).counts()
        return 200, {"taskCounts": counts, "taskSlotCounts": counts}, {}

    def _op_add_tasks(
        self, body: Any, query: dict[str, str], job: str
    ) -> tuple[int, Any, dict[str, str]]:
        tasks = check_task_collection(body)
        for task in tasks:
            check_task(task)
        with self.state.lock:
            found = self._job(job)
            if found.state != "active":
                raise _ApiError(
                    409, "JobCompleted", "The specified job is already in a completed state."
                )
            if any(task.get("dependsOn") for task in tasks) and not found.body.get(
                "usesTaskDependencies"
            ):
                raise _ApiError(
                    409,
                    "TaskDependenciesNotSpecifiedOnJob",
                    "The job does not allow task dependencies (usesTaskDependencies is false)",
                )
            results = self.state.add_tasks(found, tasks)
        return 200, {"value": results}, {}

    def _op_list_tasks(
        self, body: Any, query: dict[str, str], job: str
    ) -> tuple[int, Any, dict[str, str]]:
        page_size = min(int(query.get("maxresults", PAGE_SIZE_LIMIT)), PAGE_SIZE_LIMIT)
        start = int(query.get("skip", 0))  # our own continuation marker in nextLink
        keep = task_filter(query.get("$filter"))
        with self.state.lock:
            tasks = [task for task in self._job(job).tasks.values() if keep(task.to_json(""))]
            page = [task.to_json(self.url) for task in tasks[start : start + page_size]]
        select = query.get("$select")
        if select:
            keep = set(select.split(","))
            page = [{key: value for key, value in item.items() if key in keep} for item in page]
        payload: dict[str, Any] = {"value": page}
        if start + page_size < len(tasks):
            payload["odata.nextLink"] = (
                f"{self.url}/jobs/{job}/tasks?api-version={API_VERSION}"
                f"&maxresults={page_size}&skip={start + page_size}"
                + (f"&$filter={quote(query['$filter'])}" if query.get("$filter") else "")
            )
        return 200, payload, {}

    def _op_terminate_task(
        self, body: Any, query: dict[str, str], job: str, task: str
    ) -> tuple[int, Any, dict[str, str]]:
        return self._on_task(job, task, self.state.terminate_task)

    def _op_reactivate_task(
        self, body: Any, query: dict[str, str], job: str, task: str
    ) -> tuple[int, Any, dict[str, str]]:
        return self._on_task(job, task, self.state.reactivate)

    def _on_task(
        self, job: str, task: str, action: Callable[[FakeJob, FakeTask], None]
    ) -> tuple[int, Any, dict[str, str]]:
        with self.state.lock:
            action(*self._task(job, task))
        return 204, None, {}

    def _op_get_task_file(
        self, body: Any, query: dict[str, str], job: str, task: str, file: str
    ) -> tuple[int, Any, dict[str, str]]:
        data = self.state.read_task_file(job, task, file)
        if data is None:
            raise _ApiError(404, "FileNotFound", f"{file} of task {task} not found")
        return 200, data, {}
