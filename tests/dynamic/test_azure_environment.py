"""Which cloud the providers' management clients talk to, taken from the environment."""

from __future__ import annotations

import time

import pytest
from azure.core import AzureClouds
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpRequest, HttpResponse, HttpTransport
from azure.mgmt.batch import BatchManagementClient
from azure.mgmt.core.tools import get_arm_endpoints

from infra.dynamic._azure import client_options


class _Sent(Exception):
    """Raised by the transport instead of sending: carries where the request would have gone."""

    def __init__(self, url: str, scopes: tuple[str, ...]) -> None:
        super().__init__(url)
        self.url, self.scopes = url, scopes


class _Recorder(HttpTransport):
    """A transport that sends nothing, and a credential that hands out a dummy token."""

    def __init__(self) -> None:
        self.scopes: tuple[str, ...] = ()

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes = scopes
        return AccessToken("token", int(time.time()) + 3600)

    def send(self, request: HttpRequest, **kwargs: object) -> HttpResponse:
        raise _Sent(request.url, self.scopes)

    def open(self) -> None: ...

    def close(self) -> None: ...

    def __exit__(self, *args: object) -> None: ...


def _first_request(monkeypatch: pytest.MonkeyPatch, **env: str) -> _Sent:
    for name in ("AZURE_RESOURCE_MANAGER_ENDPOINT", "ARM_ENVIRONMENT", "AZURE_SDK_CLOUD_CONF"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    recorder = _Recorder()
    client = BatchManagementClient(recorder, "sub", transport=recorder, **client_options())
    with pytest.raises(_Sent) as sent:
        client.application.get("rg", "account", "app")
    return sent.value


def test_public_cloud_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = _first_request(monkeypatch)
    assert sent.url.startswith("https://management.azure.com/subscriptions/sub/")
    assert sent.scopes == ("https://management.azure.com/.default",)


def test_an_explicit_endpoint_wins_and_sets_the_token_scope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = _first_request(
        monkeypatch,
        AZURE_RESOURCE_MANAGER_ENDPOINT="https://arm.local.example/",
        ARM_ENVIRONMENT="china",
    )
    assert sent.url.startswith("https://arm.local.example/subscriptions/sub/")
    assert sent.scopes == ("https://arm.local.example/.default",)


@pytest.mark.parametrize(
    ("environment", "cloud"),
    [("usgovernment", AzureClouds.AZURE_US_GOVERNMENT), ("china", AzureClouds.AZURE_CHINA_CLOUD)],
)
def test_azure_natives_environment_variable_selects_a_sovereign_cloud(
    monkeypatch: pytest.MonkeyPatch, environment: str, cloud: AzureClouds
) -> None:
    sent = _first_request(monkeypatch, ARM_ENVIRONMENT=environment)
    endpoints = get_arm_endpoints(cloud)
    assert sent.url.startswith(endpoints["resource_manager"] + "subscriptions/sub/")
    assert list(sent.scopes) == endpoints["credential_scopes"]


def test_an_unknown_environment_names_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARM_ENVIRONMENT", "moon")
    with pytest.raises(ValueError, match="china, public, usgovernment"):
        client_options()
