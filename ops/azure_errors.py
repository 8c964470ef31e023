"""One line per cause when an Azure call fails: what went wrong, and what fixes it.

azure-identity and azure-core report a failed sign-in or request as a page of text: every
credential DefaultAzureCredential tried, the SDK's own error summary, the service's error body.
The cause a person can act on is one phrase in it (a DNS failure, an expired sign-in, a missing
role). `explain` finds it and says the fix in one line; `--verbose` still shows the whole text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

# The roles `ops run` needs (docs/operations.md "Who can run it"): createRun, run and activity-run
# reads and cancel on the factory; the job's task counts and terminate on the Batch account
# (learn.microsoft.com/azure/role-based-access-control/built-in-roles: Data Factory Contributor
# holds Microsoft.DataFactory/factories/*; Azure Batch Job Submitter holds the data actions
# Microsoft.Batch/batchAccounts/jobs/*).
FACTORY_ROLE = "Data Factory Contributor"
BATCH_ROLE = "Azure Batch Job Submitter"

# Entra ID codes (learn.microsoft.com/entra/identity-platform/reference-error-codes) that mean
# "sign in again": a refresh token expired or revoked (700082, 50173, 70043, 70008), a sign-in
# frequency or MFA policy asks for a fresh interactive sign-in (50076, 50078, 50079), a CI token
# used after its lifetime (700024: the client assertion is not within its valid time range).
_EXPIRED_CODES = frozenset(
    {"700082", "50173", "70043", "70008", "50076", "50078", "50079", "700024"}
)
_AADSTS = re.compile(r"AADSTS(\d+):?\s*([^.\n]*)")
# urllib3's texts, as requests and azure-core pass them on: NameResolutionError ("Failed to
# resolve 'host'"), and the getaddrinfo messages of glibc, musl and Windows.
_DNS = re.compile(
    r"Failed to resolve|Name or service not known|Temporary failure in name resolution"
    r"|nodename nor servname|getaddrinfo failed|No address associated with hostname"
)
# The most specific reason first: urllib3 wraps "Connection refused" in "Failed to establish a
# new connection", and both in "Max retries exceeded".
_CONNECTION_REASONS = (
    "Connection refused",
    "Network is unreachable",
    "No route to host",
    "timed out",
    "Connection reset",
    "Connection aborted",
    "CERTIFICATE_VERIFY_FAILED",
    "Unable to connect to proxy",
    "Failed to establish a new connection",
    "Max retries exceeded",
)
_HOST = re.compile(r"Failed to resolve '([^']+)'|host='([^']+)'")
_ACTION = re.compile(r"perform action '([^']+)'")


@dataclass(frozen=True)
class Scope:
    """The stack's names, so that a fix can say exactly where a role goes."""

    factory: str
    batch_account: str

    def roles(self) -> str:
        return (
            f"{FACTORY_ROLE} on the factory {self.factory} and {BATCH_ROLE} on the Batch "
            f"account {self.batch_account}"
        )


class CredentialSetupError(Exception):
    """The credential cannot even be built (for example an AZURE_TOKEN_CREDENTIALS typo)."""


def explain(error: BaseException, scope: Scope) -> str:
    """One line: the cause and its fix (no "ops run:" prefix, no trailing period)."""
    if isinstance(error, CredentialSetupError):
        return f"cannot set up Azure credentials: {_first_line(str(error))}"
    text = _text(error)
    network = _network_cause(text)
    if network and isinstance(error, ClientAuthenticationError | ServiceRequestError):
        return network
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return network or f"no answer from Azure ({_first_line(text)}): check the network"
    if isinstance(error, ClientAuthenticationError) and error.response is None:
        return _sign_in_cause(text, scope)
    if isinstance(error, HttpResponseError):
        return _refusal(error, scope)
    return _first_line(text) or type(error).__name__


def _network_cause(text: str) -> str | None:
    host = _host(text)
    where = host or "Azure"
    if _DNS.search(text):
        return (
            f"cannot resolve {where} (DNS lookup failed): this machine has no network or no DNS "
            "for it; check the connection, or HTTPS_PROXY if you need a proxy"
        )
    reason = next((reason for reason in _CONNECTION_REASONS if reason in text), None)
    if reason:
        return (
            f"cannot connect to {where} ({reason}): check the network, the firewall, and "
            "HTTPS_PROXY if you need a proxy"
        )
    return None


def _sign_in_cause(text: str, scope: Scope) -> str:
    codes = _AADSTS.findall(text)
    expired = [code for code, _ in codes if code in _EXPIRED_CODES]
    if expired:
        return (
            f"your Azure sign-in has expired (AADSTS{expired[0]}): run `az login` again "
            "(in CI, log in again right before `ops run`: OIDC tokens last minutes)"
        )
    if codes:
        code, summary = codes[0]
        return (
            f"Entra ID refused the sign-in (AADSTS{code}: {summary.strip()}): check the tenant, "
            "client id and secret or federated credential of the identity you sign in with"
        )
    return (
        f"no Azure credentials found: run `az login` (in CI: azure/login, or set AZURE_CLIENT_ID, "
        f"AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_SECRET) as someone with "
        f"{scope.roles()}"
    )


def _refusal(error: HttpResponseError, scope: Scope) -> str:
    status = error.status_code
    label = error_label(error)
    if status == 403:
        action = _ACTION.search(_text(error))
        if action and action.group(1).lower().startswith("microsoft.datafactory/"):
            role = f"{FACTORY_ROLE} on the factory {scope.factory}"
        elif action and action.group(1).lower().startswith("microsoft.batch/"):
            role = f"{BATCH_ROLE} on the Batch account {scope.batch_account}"
        else:
            role = scope.roles()
        needed = f" ({action.group(1)})" if action else ""
        return f"Azure refused the request ({label}){needed}: grant the caller {role}"
    if status == 401:
        return (
            f"Azure did not accept the token ({label}): sign in to the tenant of the stack's "
            "subscription (`az login --tenant ...`), or check AZURE_SDK_CLOUD_CONF"
        )
    return f"Azure refused the request ({label}): {_service_message(error)}"


def error_label(error: AzureError) -> str:
    """`503 ServerBusy`: the status and the service's error code as azure-core parsed them
    (Batch's top-level `code` into `model`, ARM's `error.code` into `error`); "no answer" when
    the request got none."""
    if not isinstance(error, HttpResponseError):
        return "no answer"
    code = getattr(getattr(error, "model", None), "code", None) or getattr(
        getattr(error, "error", None), "code", None
    )
    return (
        f"{error.status_code} {code}" if isinstance(code, str) and code else str(error.status_code)
    )


def _service_message(error: HttpResponseError) -> str:
    """The service's own sentence, without azure-core's "(Code) ... Code: ... Message:" frame."""
    model_message = getattr(getattr(error, "model", None), "message", None)
    value = getattr(model_message, "value", None)
    if isinstance(value, str) and value.strip():
        return _first_line(value)
    inner = getattr(getattr(error, "error", None), "message", None)
    if isinstance(inner, str) and inner.strip():
        return _first_line(inner)
    return _first_line(re.sub(r"^\(\w+\)\s*", "", error.message or "")) or str(error.status_code)


def _host(text: str) -> str | None:
    match = _HOST.search(text)
    return (match.group(1) or match.group(2)) if match else None


def _text(error: BaseException) -> str:
    """The error and every error it was raised from (urllib3's cause is often the useful one)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = current.message if isinstance(current, AzureError) else None
        parts.append(message or str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip().rstrip(".")
    return ""
