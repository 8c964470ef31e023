"""Azurite's blob service (node_modules/.bin/azurite-blob) on a free loopback port, in the mode
Azure storage runs in: HTTPS, and Entra ID bearer tokens accepted (`--oauth basic`).

Azurite accepts OAuth only over HTTPS ("OAuth requires HTTPS endpoint. Make sure HTTPS is enabled
by providing `--cert` parameter along with `--oauth` parameter", node_modules/azurite/README.md,
"OAuth Configuration"). In basic mode it checks a token's issuer, audience and lifetime, but not
its signature or the caller's roles (dist/src/blob/authentication/BlobTokenAuthenticator.js), so
the fake ARM's token endpoint mints unsigned JWTs it accepts. A request with no credential at all
(no SAS, no key, no token) to a private container is refused, as Azure refuses it: that is what
catches an anonymous upload.

SAS URLs are signed with Azurite's published development account key.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme
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
# The tenant the fake tokens are issued by, and the issuer prefix Azurite accepts
# (dist/src/common/utils/constants.js, VALID_ISSUE_PREFIXES).
TENANT_ID = "72f988bf-0000-4000-8000-000000000001"
ISSUER = f"https://sts.windows.net/{TENANT_ID}/"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def entra_token(audience: str, object_id: str, lifetime_seconds: int = 3600) -> tuple[str, int]:
    """An Entra ID access token as Azurite's basic OAuth reads it: (JWT, expiry as epoch seconds).

    Unsigned (Azurite's basic level does not check signatures), but with the claims it does check.
    """
    now = int(time.time())
    expires = now + lifetime_seconds
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "aud": audience,
        "iss": ISSUER,
        "iat": now - 60,
        "nbf": now - 60,
        "exp": expires,
        "oid": object_id,
        "tid": TENANT_ID,
    }
    parts = [_b64url(json.dumps(p).encode()) for p in (header, claims)]
    return ".".join([*parts, _b64url(b"not-signed")]), expires


def token_claims(token: str) -> dict[str, object]:
    """The claims of a JWT (without checking its signature), or {} if it is not one."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


@dataclass(frozen=True)
class Azurite:
    endpoint: str  # https://127.0.0.1:<port>/devstoreaccount1
    ca_file: str  # the CA that signed Azurite's certificate (clients must trust it)

    def service(self) -> BlobServiceClient:
        return BlobServiceClient(
            self.endpoint,
            credential={"account_name": ACCOUNT, "account_key": ACCOUNT_KEY},
            connection_verify=self.ca_file,
        )

    def ensure_container(self, container: str) -> None:
        with suppress(ResourceExistsError):
            self.service().create_container(container)

    def blob_url(self, container: str, blob: str) -> str:
        """The plain URL of a blob: reaching it needs a credential (a token or a key)."""
        return f"{self.endpoint}/{container}/{blob}"

    def sas_url(self, container: str, blob: str, *, writable: bool) -> str:
        """A blob SAS URL; read-only when not `writable` (uploads through it are refused)."""
        self.ensure_container(container)
        permission = BlobSasPermissions(read=True, create=writable, write=writable)
        token = generate_blob_sas(
            ACCOUNT,
            container,
            blob,
            account_key=ACCOUNT_KEY,
            permission=permission,
            expiry=datetime.now(UTC) + timedelta(hours=1),
        )
        return f"{self.blob_url(container, blob)}?{token}"

    def read(self, container: str, blob: str) -> bytes | None:
        client = self.service().get_blob_client(container, blob)
        return client.download_blob().readall() if client.exists() else None

    def write(self, container: str, blob: str, data: bytes) -> None:
        self.ensure_container(container)
        self.service().get_blob_client(container, blob).upload_blob(data, overwrite=True)


def write_server_certificate(ca: trustme.CA, folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 signed by `ca`: (certificate PEM, private key PEM)."""
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = folder / "azurite-cert.pem", folder / "azurite-key.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    return cert, key


@contextmanager
def running_azurite(location: Path, ca: trustme.CA, ca_file: Path) -> Iterator[Azurite]:
    """Azurite over HTTPS with OAuth on; its certificate is signed by `ca` (written to ca_file)."""
    if not AZURITE.exists():
        raise RuntimeError(f"{AZURITE} is missing: run `make setup` (npm ci) first")
    ca.cert_pem.write_to_path(str(ca_file))
    cert, key = write_server_certificate(ca, location)
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
            "--cert",
            str(cert),
            "--key",
            str(key),
            "--oauth",
            "basic",
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
        yield Azurite(f"https://127.0.0.1:{port}/{ACCOUNT}", str(ca_file))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
