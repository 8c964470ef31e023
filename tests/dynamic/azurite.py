"""Azurite's blob service (node_modules/.bin/azurite-blob) on a free loopback port, and real SAS
URLs into it signed with Azurite's published development account key."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import (
    BlobSasPermissions,
    BlobServiceClient,
    generate_blob_sas,
)

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
AZURITE = REPOSITORY_ROOT / "node_modules" / ".bin" / "azurite-blob"
ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (documented by Microsoft; not a secret).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Azurite:
    endpoint: str  # http://127.0.0.1:<port>/devstoreaccount1

    def service(self) -> BlobServiceClient:
        return BlobServiceClient(
            self.endpoint, credential={"account_name": ACCOUNT, "account_key": ACCOUNT_KEY}
        )

    def sas_url(self, container: str, blob: str, *, writable: bool) -> str:
        """A blob SAS URL; read-only when not `writable` (uploads through it are refused)."""
        with suppress(ResourceExistsError):
            self.service().create_container(container)
        permission = BlobSasPermissions(read=True, create=writable, write=writable)
        token = generate_blob_sas(
            ACCOUNT,
            container,
            blob,
            account_key=ACCOUNT_KEY,
            permission=permission,
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
        return f"{self.endpoint}/{container}/{blob}?{token}"

    def read(self, container: str, blob: str) -> bytes | None:
        client = self.service().get_blob_client(container, blob)
        return client.download_blob().readall() if client.exists() else None

    def write(self, container: str, blob: str, data: bytes) -> None:
        with suppress(ResourceExistsError):
            self.service().create_container(container)
        self.service().get_blob_client(container, blob).upload_blob(data, overwrite=True)


@contextmanager
def running_azurite(location: Path) -> Iterator[Azurite]:
    if not AZURITE.exists():
        raise RuntimeError(f"{AZURITE} is missing: run `make setup` (npm ci) first")
    port = free_port()
    process = subprocess.Popen(
        [
            str(AZURITE),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--location",
            str(location),
            "--skipApiVersionCheck",
            "--silent",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    error = process.stderr.read().decode() if process.stderr else ""
                    raise RuntimeError(f"Azurite did not start on port {port}: {error}") from None
                time.sleep(0.1)
        yield Azurite(f"http://127.0.0.1:{port}/{ACCOUNT}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
