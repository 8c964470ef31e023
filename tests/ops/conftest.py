from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from azure.core.pipeline.policies import RetryPolicy


@pytest.fixture(scope="session")
def fake_ca() -> trustme.CA:
    """A throwaway certificate authority for the loopback TLS fakes."""
    return trustme.CA()


@pytest.fixture
def trust_fake_ca(
    fake_ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """Make the Azure SDK clients (requests under azure-core) trust the fake CA, and keep them
    away from any proxy or cloud setting of the machine running the tests."""
    bundle = tmp_path / "fake-azure-ca.pem"
    fake_ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "AZURE_SDK_CLOUD_CONF"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    yield bundle


@pytest.fixture
def no_retry_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """azure-core's own retry counts (3 on a bad status, 3 on a failed connection), without their
    exponential back-off (0.8 s x 2^n: up to 4.8 s per call)."""
    monkeypatch.setattr(RetryPolicy, "get_backoff_time", lambda self, settings: 0)
