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
