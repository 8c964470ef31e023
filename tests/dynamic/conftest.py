from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.dynamic.azurite import Azurite, running_azurite
from tests.dynamic.fake_arm import IDENTITY_HEADER, FakeArm, running_fake_arm

# Variables that would make DefaultAzureCredential or the SDK look anywhere but the fake.
_AZURE_VARIABLES = (
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "IDENTITY_SERVER_THUMBPRINT",
    "IMDS_ENDPOINT",
    "MSI_ENDPOINT",
    "ARM_ENVIRONMENT",
    "AZURE_SDK_CLOUD_CONF",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "https_proxy",
    "http_proxy",
)


@pytest.fixture(scope="session")
def loopback_ca() -> trustme.CA:
    """One throwaway CA for Azurite's and the fake ARM's certificates, so one bundle trusts both."""
    return trustme.CA()


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory, loopback_ca: trustme.CA) -> Iterator[Azurite]:
    folder = tmp_path_factory.mktemp("azurite")
    with running_azurite(folder, loopback_ca, folder / "loopback-ca.pem") as instance:
        yield instance


@pytest.fixture
def fake_arm(
    azurite: Azurite, loopback_ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeArm]:
    """A fresh fake ARM, with the environment pointing DefaultAzureCredential and every
    management client at it (and nowhere else)."""
    ca_file = Path(azurite.ca_file)
    with running_fake_arm(azurite, loopback_ca) as fake:
        for name in _AZURE_VARIABLES:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AZURE_RESOURCE_MANAGER_ENDPOINT", fake.base_url)
        monkeypatch.setenv("IDENTITY_ENDPOINT", f"{fake.base_url}/msi/token")
        monkeypatch.setenv("IDENTITY_HEADER", IDENTITY_HEADER)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        yield fake
