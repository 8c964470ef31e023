"""A loopback fake of the Azure Resource Manager calls the dynamic providers make, over TLS with a
throwaway CA (azure-core sends bearer tokens only over https), keeping state and recording every
call:

- Batch applications and package versions (create hands out the blob URL in Azurite; activate
  reads the uploaded blob back and refuses anything that is not a zip, as Batch does);
- ACR build-source upload URLs, scheduled Docker build runs (the run reads the uploaded context
  from Azurite and fails when the Dockerfile is missing), run status and log SAS URLs;
- ADF trigger get/start/stop, and runs of the Copy pipelines a test declares (`CopyPipeline`): a
  run reads its source blob from Azurite and writes its sink blob there, and fails, as ADF's Copy
  does, when the source does not exist;
- an App Service style managed-identity token endpoint, so DefaultAzureCredential itself runs. It
  mints JWTs for the audience asked for (ARM, or storage for Azurite); ARM refuses a token for
  another audience, as it does ("InvalidAuthenticationTokenAudience").

`Faults` makes a service misbehave the way the tests need.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
import threading
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from tests.dynamic.azurite import Azurite, entra_token, token_claims
from tests.loopback_tls import LoopbackTlsServer

IDENTITY_HEADER = "fake-identity-header"
# Who DefaultAzureCredential signs in as here: the deployer running `pulumi up`.
DEPLOYER_OBJECT_ID = "d0d0d0d0-0000-4000-8000-00000000d0d0"
PACKAGES_CONTAINER = "app-packages"
SOURCES_CONTAINER = "build-sources"
LOGS_CONTAINER = "run-logs"

_PREFIX = r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers"
_APP = _PREFIX + r"/Microsoft\.Batch/batchAccounts/(?P<acct>[^/]+)/applications/(?P<app>[^/]+)"
_REGISTRY = _PREFIX + r"/Microsoft\.ContainerRegistry/registries/(?P<reg>[^/]+)"
_FACTORY = _PREFIX + r"/Microsoft\.DataFactory/factories/(?P<factory>[^/]+)"
_TRIGGER = _FACTORY + r"/triggers/(?P<trigger>[^/]+)"

# The Batch account's data plane (the tests use the fake's address as the account endpoint).


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: Any


@dataclass
class Faults:
    package_upload_read_only: bool = False  # package upload URLs refuse writes
    fail_activation: bool = False
    build_status: str = "Succeeded"  # the final status of every scheduled run
    build_log: str = "Step 1/3 : FROM python:3.12-slim\nSuccessfully built\n"
    pipeline_failure: str = ""  # when set, every pipeline run fails with this message


@dataclass(frozen=True)
class CopyPipeline:
    """A pipeline with one Copy activity from a blob to a blob (containers in Azurite)."""

    source_container: str
    source_blob: str
    sink_container: str
    sink_blob: str


@dataclass
class PipelineRun:
    pipeline: str
    statuses: list[str]
    message: str = ""
    polls: int = 0

    @property
    def status(self) -> str:
        return self.statuses[min(self.polls, len(self.statuses) - 1)]


@dataclass
class Package:
    state: str
    blob: str
    format: str | None = None
    uploaded_sha256: str | None = None


@dataclass
class Run:
    statuses: list[str]
    image_names: list[str]
    digest: str
    polls: int = 0

    @property
    def status(self) -> str:
        return self.statuses[min(self.polls, len(self.statuses) - 1)]


@dataclass
class FakeArm:
    azurite: Azurite
    base_url: str = ""
    login_server: str = "rbdevacr.azurecr.io"
    # The Batch account's auto-storage authenticationMode (the program sets the identity mode).
    auto_storage_mode: str = "BatchAccountManagedIdentity"
    faults: Faults = field(default_factory=Faults)
    calls: list[Call] = field(default_factory=list)
    token_requests: int = 0
    token_audiences: list[str] = field(default_factory=list)  # what each token was asked for
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    packages: dict[tuple[str, str], Package] = field(default_factory=dict)
    source_uploads: dict[str, str] = field(default_factory=dict)  # relative path -> blob
    runs: dict[str, Run] = field(default_factory=dict)
    triggers: dict[str, str] = field(default_factory=dict)  # name -> runtimeState
    pipelines: dict[str, CopyPipeline] = field(default_factory=dict)  # name -> definition
    pipeline_runs: dict[str, PipelineRun] = field(default_factory=dict)
    missing_accounts: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- what tests look at --------------------------------------------------------------

    def calls_to(self, method: str, path_suffix: str = "") -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.endswith(path_suffix)]

    def clear_calls(self) -> None:
        self.calls.clear()

    def package_blob(self, app: str, version: str) -> bytes | None:
        return self.azurite.read(PACKAGES_CONTAINER, self.packages[(app, version)].blob)

    # ---- request handling --------------------------------------------------------------------

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        with self.lock:
            self.calls.append(Call(method, path, body))
            routes: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
                ("GET", _APP + "$", self._get_application),
                ("PUT", _APP + "$", self._create_application),
                ("PATCH", _APP + "$", self._update_application),
                ("DELETE", _APP + "$", self._delete_application),
                ("GET", _APP + r"/versions/(?P<ver>[^/]+)$", self._get_package),
                ("PUT", _APP + r"/versions/(?P<ver>[^/]+)$", self._create_package),
                ("DELETE", _APP + r"/versions/(?P<ver>[^/]+)$", self._delete_package),
                ("POST", _APP + r"/versions/(?P<ver>[^/]+)/activate$", self._activate),
                ("POST", _REGISTRY + "/listBuildSourceUploadUrl$", self._upload_url),
                ("POST", _REGISTRY + "/scheduleRun$", self._schedule_run),
                ("GET", _REGISTRY + r"/runs/(?P<run>[^/]+)$", self._get_run),
                ("POST", _REGISTRY + r"/runs/(?P<run>[^/]+)/listLogSasUrl$", self._log_url),
                ("GET", _TRIGGER + "$", self._get_trigger),
                ("POST", _TRIGGER + "/start$", self._start_trigger),
                ("POST", _TRIGGER + "/stop$", self._stop_trigger),
                ("POST", _FACTORY + r"/pipelines/(?P<pipeline>[^/]+)/createRun$", self._run),
                ("GET", _FACTORY + r"/pipelineruns/(?P<run>[^/]+)$", self._get_pipeline_run),
            ]
            for verb, pattern, handler in routes:
                match = re.match(pattern, path)
                if verb == method and match:
                    try:
                        if match.groupdict().get("acct") in self.missing_accounts:
                            raise ArmError(404, "ResourceNotFound", "the Batch account is gone")
                        return handler(body=body, **match.groupdict())
                    except ArmError as error:
                        return error.status, {
                            "error": {"code": error.code, "message": error.message}
                        }
            return 404, {"error": {"code": "NoRoute", "message": f"{method} {path}"}}

    # Batch ------------------------------------------------------------------------------------

    def _application(self, app: str) -> dict[str, Any]:
        if app not in self.applications:
            raise ArmError(404, "ApplicationNotFound", f"application {app} does not exist")
        return self.applications[app]

    def _app_body(self, app: str) -> tuple[int, Any]:
        return 200, {"name": app, "properties": self._application(app)}

    def _get_application(self, app: str, body: Any, **_: str) -> tuple[int, Any]:
        return self._app_body(app)

    def _create_application(self, app: str, body: Any, **_: str) -> tuple[int, Any]:
        self.applications[app] = dict((body or {}).get("properties", {}))
        return self._app_body(app)

    def _update_application(self, app: str, body: Any, **_: str) -> tuple[int, Any]:
        properties = (body or {}).get("properties", {})
        version = properties.get("defaultVersion")
        if version and self.packages.get((app, version), Package("", "")).state != "Active":
            raise ArmError(409, "ApplicationPackageNotActive", f"{version} is not active")
        self._application(app).update(properties)
        return self._app_body(app)

    def _delete_application(self, app: str, body: Any, **_: str) -> tuple[int, Any]:
        self._application(app)
        if any(a == app for a, _ in self.packages):
            raise ArmError(409, "ApplicationPackagesExist", f"{app} still has packages")
        del self.applications[app]
        return 200, None

    def _package(self, app: str, ver: str) -> Package:
        if (app, ver) not in self.packages:
            raise ArmError(404, "ApplicationPackageNotFound", f"{app} {ver} does not exist")
        return self.packages[(app, ver)]

    def _package_body(self, app: str, ver: str, storage_url: str | None = None) -> dict[str, Any]:
        package = self._package(app, ver)
        properties: dict[str, Any] = {"state": package.state}
        if package.format:
            properties["format"] = package.format
        if storage_url:  # like API versions after 2025-06-01: only the PUT returns the URL
            properties["storageUrl"] = storage_url
            expiry = datetime.now(UTC) + timedelta(hours=4)
            properties["storageUrlExpiry"] = expiry.isoformat().replace("+00:00", "Z")
        return {"name": ver, "properties": properties}

    def _get_package(self, app: str, ver: str, body: Any, **_: str) -> tuple[int, Any]:
        return 200, self._package_body(app, ver)

    def _create_package(self, app: str, ver: str, body: Any, **_: str) -> tuple[int, Any]:
        self._application(app)
        if (app, ver) in self.packages:
            raise ArmError(409, "ApplicationPackageAlreadyExists", f"{app} {ver} exists")
        blob = f"{app}-{ver}-{uuid.uuid4().hex[:8]}.zip"
        self.packages[(app, ver)] = Package(state="Pending", blob=blob)
        self.azurite.ensure_container(PACKAGES_CONTAINER)
        # "If the auto storage account was configured to use storage keys, the URL returned will
        # contain a SAS" (azure-mgmt-batch operations/_operations.py:3056, ApplicationPackage
        # create): with BatchAccountManagedIdentity it is a plain blob URL, and the uploader
        # needs its own Entra ID token and a blob data role on the auto-storage account.
        if self.faults.package_upload_read_only:
            url = self.azurite.sas_url(PACKAGES_CONTAINER, blob, writable=False)
        elif self.auto_storage_mode == "StorageKeys":
            url = self.azurite.sas_url(PACKAGES_CONTAINER, blob, writable=True)
        else:
            url = self.azurite.blob_url(PACKAGES_CONTAINER, blob)
        return 200, self._package_body(app, ver, storage_url=url)

    def _delete_package(self, app: str, ver: str, body: Any, **_: str) -> tuple[int, Any]:
        self._package(app, ver)
        del self.packages[(app, ver)]
        return 200, None

    def _activate(self, app: str, ver: str, body: Any, **_: str) -> tuple[int, Any]:
        package = self._package(app, ver)
        data = self.azurite.read(PACKAGES_CONTAINER, package.blob)
        if self.faults.fail_activation:
            raise ArmError(409, "ApplicationPackageActivationFailed", "activation failed")
        if data is None:
            raise ArmError(409, "ApplicationPackageBlobNotFound", "nothing was uploaded")
        if not zipfile.is_zipfile(io.BytesIO(data)) or (body or {}).get("format") != "zip":
            raise ArmError(409, "InvalidApplicationPackage", "the uploaded blob is not a zip")
        package.state, package.format = "Active", "zip"
        package.uploaded_sha256 = hashlib.sha256(data).hexdigest()
        return 200, self._package_body(app, ver)

    # ACR --------------------------------------------------------------------------------------

    def _upload_url(self, body: Any, **_: str) -> tuple[int, Any]:
        blob = f"{uuid.uuid4().hex}.tar.gz"
        relative = f"source/{datetime.now(UTC):%Y%m%d}/{blob}"
        self.source_uploads[relative] = blob
        url = self.azurite.sas_url(SOURCES_CONTAINER, blob, writable=True)
        return 200, {"uploadUrl": url, "relativePath": relative}

    def _schedule_run(self, reg: str, body: Any, **_: str) -> tuple[int, Any]:
        request = body or {}
        run_id = f"cb{len(self.runs) + 1}"
        blob = self.source_uploads.get(request.get("sourceLocation", ""))
        context = self.azurite.read(SOURCES_CONTAINER, blob) if blob else None
        final, log = self.faults.build_status, self.faults.build_log
        if context is None:
            final, log = "Failed", "ERROR: the source location holds no uploaded context\n"
        else:
            with tarfile.open(fileobj=io.BytesIO(context), mode="r:gz") as tar:
                if request.get("dockerFilePath") not in tar.getnames():
                    final, log = "Failed", "ERROR: Dockerfile not found in the build context\n"
        self.azurite.write(LOGS_CONTAINER, f"{run_id}.log", log.encode())
        digest = "sha256:" + hashlib.sha256(context or b"").hexdigest()
        self.runs[run_id] = Run(["Queued", "Running", final], request.get("imageNames", []), digest)
        return 200, self._run_body(run_id)

    def _run_body(self, run_id: str) -> dict[str, Any]:
        run = self.runs[run_id]
        properties: dict[str, Any] = {"runId": run_id, "status": run.status}
        if run.status == "Succeeded":
            properties["outputImages"] = [
                {
                    "registry": self.login_server,
                    "repository": name.partition(":")[0],
                    "tag": name.partition(":")[2],
                    "digest": run.digest,
                }
                for name in run.image_names
            ]
        return {"name": run_id, "properties": properties}

    def _get_run(self, run: str, body: Any, **_: str) -> tuple[int, Any]:
        if run not in self.runs:
            raise ArmError(404, "RunNotFound", f"run {run} does not exist")
        self.runs[run].polls += 1
        return 200, self._run_body(run)

    def _log_url(self, run: str, body: Any, **_: str) -> tuple[int, Any]:
        return 200, {"logLink": self.azurite.sas_url(LOGS_CONTAINER, f"{run}.log", writable=False)}

    # ADF --------------------------------------------------------------------------------------

    def _trigger_state(self, trigger: str) -> str:
        if trigger not in self.triggers:
            raise ArmError(404, "TriggerNotFound", f"trigger {trigger} does not exist")
        return self.triggers[trigger]

    def _get_trigger(self, trigger: str, body: Any, **_: str) -> tuple[int, Any]:
        state = self._trigger_state(trigger)
        return 200, {
            "name": trigger,
            "properties": {"type": "ScheduleTrigger", "runtimeState": state, "pipelines": []},
        }

    def _start_trigger(self, trigger: str, body: Any, **_: str) -> tuple[int, Any]:
        self._trigger_state(trigger)
        self.triggers[trigger] = "Started"
        return 200, None

    def _stop_trigger(self, trigger: str, body: Any, **_: str) -> tuple[int, Any]:
        self._trigger_state(trigger)
        self.triggers[trigger] = "Stopped"
        return 200, None

    def _run(self, pipeline: str, body: Any, **_: str) -> tuple[int, Any]:
        if pipeline not in self.pipelines:
            raise ArmError(404, "PipelineNotFound", f"pipeline {pipeline} does not exist")
        copy = self.pipelines[pipeline]
        run_id = str(uuid.uuid4())
        data = self.azurite.read(copy.source_container, copy.source_blob)
        final, message = "Succeeded", ""
        if self.faults.pipeline_failure:
            final, message = "Failed", self.faults.pipeline_failure
        elif data is None:
            final = "Failed"
            message = (
                "ErrorCode=UserErrorSourceBlobNotExists,'The required Blob is missing. "
                f"ContainerName: {copy.source_container}, path: {copy.source_blob}.'"
            )
        else:
            self.azurite.write(copy.sink_container, copy.sink_blob, data)
        self.pipeline_runs[run_id] = PipelineRun(pipeline, ["Queued", "InProgress", final], message)
        return 200, {"runId": run_id}

    def _get_pipeline_run(self, run: str, body: Any, **_: str) -> tuple[int, Any]:
        if run not in self.pipeline_runs:
            raise ArmError(404, "PipelineRunNotFound", f"run {run} does not exist")
        state = self.pipeline_runs[run]
        state.polls += 1
        return 200, {
            "runId": run,
            "pipelineName": state.pipeline,
            "status": state.status,
            "message": state.message if state.status == "Failed" else "",
        }


def _handler_for(fake: FakeArm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _reply(self, status: int, payload: Any) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/msi/token":
                if self.headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
                    self._reply(401, {"error": "bad identity header"})
                    return
                fake.token_requests += 1
                resource = parse_qs(url.query).get("resource", [""])[0]
                fake.token_audiences.append(resource)
                token, expires = entra_token(resource, DEPLOYER_OBJECT_ID)
                self._reply(
                    200,
                    {
                        "access_token": token,
                        "expires_on": str(expires),
                        "resource": resource,
                        "token_type": "Bearer",
                    },
                )
                return
            header = self.headers.get("Authorization") or ""
            if not header.startswith("Bearer "):
                self._reply(401, {"error": {"code": "AuthenticationFailed", "message": "no token"}})
                return
            audience = str(token_claims(header.removeprefix("Bearer ")).get("aud", ""))
            if audience.rstrip("/") != fake.base_url.rstrip("/"):
                # ARM accepts only tokens issued for itself (a storage token is refused).
                self._reply(
                    401,
                    {
                        "error": {
                            "code": "InvalidAuthenticationTokenAudience",
                            "message": f"the token's audience {audience!r} is not ARM",
                        }
                    },
                )
                return
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            status, payload = fake.handle(self.command, url.path, body)
            self._reply(status, payload)

        do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _serve

    return Handler


@contextmanager
def running_fake_arm(azurite: Azurite, ca: trustme.CA) -> Iterator[FakeArm]:
    """Serve a FakeArm on a free loopback port over TLS, with a certificate signed by `ca`."""
    server = LoopbackTlsServer(ca)
    fake = FakeArm(azurite)
    fake.base_url = server.url
    server.start(_handler_for(fake))
    try:
        yield fake
    finally:
        server.stop()
