"""What every dynamic provider needs from Azure: a credential and management clients pointed at the
right cloud, built fresh inside each provider method (never stored on the provider, which is
pickled into the stack state).

Credentials come from the environment exactly as azure-native finds them (DefaultAzureCredential:
environment variables, workload or managed identity, Azure CLI login, ...). The Resource Manager
endpoint comes from the environment too, so sovereign clouds work and tests can point the SDK at a
loopback fake:

- `AZURE_RESOURCE_MANAGER_ENDPOINT`: an explicit endpoint URL (Azure Stack, tests); its token
  scope is `<endpoint>/.default`.
- otherwise `ARM_ENVIRONMENT` (the variable azure-native reads: `public`, `usgovernment`,
  `china`), and otherwise the Azure SDK's own `AZURE_SDK_CLOUD_CONF` (public cloud by default).

Blob uploads go to URLs that Azure hands out. Some carry a SAS (ACR's build-source upload URL);
some do not (a Batch application package's URL when auto-storage uses the Batch account's managed
identity): those are reached with the deployer's own Entra ID token (`blob_client`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

import pulumi

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient

# Pulumi's marker for a value not known during preview (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

ENDPOINT_VARIABLE = "AZURE_RESOURCE_MANAGER_ENDPOINT"
_CLOUDS_BY_ARM_ENVIRONMENT = {
    "public": "AZURE_PUBLIC_CLOUD",
    "usgovernment": "AZURE_US_GOVERNMENT",
    "china": "AZURE_CHINA_CLOUD",
}


class _ManagementClient(Protocol):
    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_ManagementClient)


def client_options() -> dict[str, Any]:
    """Keyword arguments that point an azure-mgmt-* client at this environment's cloud."""
    endpoint = os.environ.get(ENDPOINT_VARIABLE, "").strip().rstrip("/")
    if endpoint:
        return {"base_url": endpoint, "credential_scopes": [f"{endpoint}/.default"]}
    environment = os.environ.get("ARM_ENVIRONMENT", "").strip().lower()
    if environment:
        if environment not in _CLOUDS_BY_ARM_ENVIRONMENT:
            raise ValueError(
                f"ARM_ENVIRONMENT={environment!r} is not a cloud we know: use one of "
                f"{', '.join(sorted(_CLOUDS_BY_ARM_ENVIRONMENT))}, or set {ENDPOINT_VARIABLE}"
            )
        from azure.core import AzureClouds

        return {"cloud_setting": AzureClouds[_CLOUDS_BY_ARM_ENVIRONMENT[environment]]}
    return {}


@contextmanager
def management_client(factory: Callable[..., ClientT], subscription_id: str) -> Iterator[ClientT]:
    """A management client authenticated with DefaultAzureCredential, closed on exit."""
    from azure.identity import DefaultAzureCredential

    with DefaultAzureCredential() as credential:
        client = factory(credential, subscription_id, **client_options())
        try:
            yield client
        finally:
            client.close()


def carries_sas(url: str) -> bool:
    """Whether a blob URL authorizes itself: a SAS always carries its signature (`sig`)."""
    return "sig" in parse_qs(urlsplit(url).query)


@contextmanager
def blob_client(url: str) -> Iterator[BlobClient]:
    """A client for the blob at `url`: through its SAS if it has one, otherwise with the
    deployer's Entra ID token (DefaultAzureCredential), which needs a blob data role there."""
    from azure.storage.blob import BlobClient

    if carries_sas(url):
        with BlobClient.from_blob_url(url) as client:
            yield client
        return
    from azure.identity import DefaultAzureCredential

    with (
        DefaultAzureCredential() as credential,
        BlobClient.from_blob_url(url, credential=credential) as client,
    ):
        yield client


# Azure's codes for "authenticated, but no role allows this yet": a role assignment made moments
# ago by the same `pulumi up` can take minutes to apply (learn.microsoft.com/azure/
# role-based-access-control/troubleshooting, "Role assignment changes are not being detected").
_NOT_YET_AUTHORIZED = frozenset({"AuthorizationPermissionMismatch", "AuthorizationFailure"})
ROLE_PROPAGATION_SECONDS = 600.0
ROLE_RETRY_SECONDS = 15.0


def upload_file(
    url: str,
    path: Path,
    *,
    wait_seconds: float = ROLE_PROPAGATION_SECONDS,
    retry_seconds: float = ROLE_RETRY_SECONDS,
) -> int:
    """Upload `path` to the blob at `url` (overwriting it) and return the size Azure stored.

    With Entra ID (a URL without SAS), a 403 that means "no role yet" is retried until
    `wait_seconds` have passed, with a message naming the role, because the deployer's grant may
    be seconds old. Other errors, and any refusal of a SAS (whose rights never change), fail at
    once.
    """
    from azure.core.exceptions import HttpResponseError

    size = path.stat().st_size
    retry_refusals = not carries_sas(url)
    with blob_client(url) as blob:

        def uploaded() -> bool:
            try:
                with path.open("rb") as data:
                    blob.upload_blob(data, overwrite=True, length=size)
            except HttpResponseError as error:
                code = getattr(error, "error_code", None)  # set by azure-storage-blob
                not_yet = error.status_code == 403 and code in _NOT_YET_AUTHORIZED
                if not (retry_refusals and not_yet):
                    raise
                progress(
                    f"{blob.account_name} refused the upload ({code}): waiting for "
                    "the deployer's Storage Blob Data Contributor role there to take effect"
                )
                return False
            return True

        wait_for(
            f"uploading {path.name} to {blob.account_name} (does the deployer hold Storage Blob "
            "Data Contributor there?)",
            uploaded,
            timeout_seconds=wait_seconds,
            interval_seconds=retry_seconds,
        )
        return int(blob.get_blob_properties().size)


def is_unknown(value: object) -> bool:
    return value == UNKNOWN


def text(value: object) -> str:
    """An SDK value as plain text: the SDKs' str enums print as `RunStatus.FAILED` otherwise."""
    return str(value.value) if isinstance(value, Enum) else str(value)


def progress(message: str) -> None:
    """Show progress of long work in the Pulumi CLI (and on stderr when run outside Pulumi)."""
    pulumi.log.info(message)


def wait_for(
    what: str,
    poll: Callable[[], bool],
    *,
    timeout_seconds: float,
    interval_seconds: float,
) -> None:
    """Call `poll` until it returns True; fail with a message naming `what` after the timeout."""
    deadline = time.monotonic() + timeout_seconds
    while not poll():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not finish within {timeout_seconds:.0f} s")
        time.sleep(interval_seconds)
