"""`ops run` when it cannot sign in or reach Azure: one line per cause, each with its fix.

The credentials are azure-identity's real ones, in an environment the test controls: no Azure
variables, an empty PATH (no `az`, `azd`, `pwsh`) unless a test puts a stand-in `az` on it, and
a throwaway HOME (no token cache). `.invalid` names never resolve (RFC 6761 section 6.4), so a
DNS failure needs no network to happen.
"""

from __future__ import annotations

import io
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential

from offline import REPO_ROOT
from ops.cli import main
from tests.ops.helpers import RecordingCredential, stack_outputs

ROLES = (
    "Data Factory Contributor on the factory adf-rosbag-dev and Azure Batch Job Submitter on the "
    "Batch account batchrosbagdev"
)
# What `az account get-access-token` prints when the refresh token has expired: knack's
# "ERROR: <error_description>", then aad_error_handler's recommendation (azure-cli,
# src/azure-cli-core/azure/cli/core/auth/util.py, aad_error_handler / _generate_login_message);
# the code's text is Entra ID's (learn.microsoft.com/entra/identity-platform/reference-error-codes,
# AADSTS700082 ExpiredOrRevokedGrantInactiveToken).
AZ_EXPIRED = (
    "ERROR: AADSTS700082: The refresh token has expired due to inactivity. The token was issued "
    "on 2026-08-01T09:00:00.0000000Z and was inactive for 90.00:00:00. Trace ID: "
    "0f0e0d0c-0000-4000-8000-000000000000 Correlation ID: 1a1b1c1d-0000-4000-8000-000000000000 "
    "Timestamp: 2026-11-24 22:00:00Z\n"
    "To re-authenticate, please run:\n"
    "az login --scope https://management.core.windows.net//.default\n"
)


@pytest.fixture
def bare_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_retry_backoff: None
) -> Path:
    """No Azure sign-in of any kind; returns the (empty) directory that is the whole PATH."""
    for name in list(os.environ):
        if name.startswith(("AZURE_", "IDENTITY_", "MSI_", "ARM_")) or name.endswith("_PROXY"):
            monkeypatch.delenv(name)
    for name in ("https_proxy", "http_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(home / ".azure"))
    return bin_dir


def run_ops(
    tmp_path: Path, credential: TokenCredential | None, *extra: str
) -> tuple[int, str, str]:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(stack_outputs("https://batchrosbagdev.westeurope.batch.azure.com")),
        encoding="utf-8",
    )
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        ["run", "--stack-outputs", str(outputs), *extra],
        credential=credential,
        stdout=stdout,
        stderr=stderr,
    )
    return code, stdout.getvalue(), stderr.getvalue()


def entra_credential(monkeypatch: pytest.MonkeyPatch, authority: str) -> TokenCredential:
    """DefaultAzureCredential with a service principal in the environment (as in CI), signing in
    at `authority`. Instance discovery would ask login.microsoftonline.com first whatever the
    authority; it is turned off so that the test reaches only the authority it names."""
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
    monkeypatch.setenv("AZURE_TENANT_ID", "55555555-6666-7777-8888-999999999999")
    monkeypatch.setenv("AZURE_CLIENT_ID", "ffffffff-0000-1111-2222-333333333333")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "not-a-real-secret")
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", authority)
    return DefaultAzureCredential(disable_instance_discovery=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_credentials_is_one_line_naming_az_login_and_the_roles(
    bare_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "dev")  # no managed identity probe either

    code, out, err = run_ops(tmp_path, None)

    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "ops run: no Azure credentials found: run `az login` (in CI: azure/login, or set "
        "AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_SECRET) "
        f"as someone with {ROLES}"
    ]


def test_the_command_prints_that_one_line_and_not_azure_identitys_log(
    bare_environment: Path, tmp_path: Path
) -> None:
    """azure-identity logs every credential it tried as a WARNING, which Python prints to stderr
    when nothing configured logging: only a real process shows what the user sees."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(stack_outputs("https://batch.invalid")), encoding="utf-8")
    environment = {**os.environ, "AZURE_TOKEN_CREDENTIALS": "dev"}

    result = subprocess.run(
        [sys.executable, "-m", "ops", "run", "--stack-outputs", str(outputs)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ops run: no Azure credentials found: run `az login` (in CI: azure/login, or set "
        "AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_SECRET) "
        f"as someone with {ROLES}"
    ]


def test_verbose_adds_the_sdks_full_text(
    bare_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "dev")

    _, _, err = run_ops(tmp_path, None, "--verbose")

    assert err.count("ops run: no Azure credentials found") == 1
    assert "AzureCliCredential: Azure CLI not found on path" in err


def test_an_expired_az_login_says_so_rather_than_no_credentials(
    bare_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    az = bare_environment / "az"
    az.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{AZ_EXPIRED}EOF\nexit 1\n", encoding="utf-8")
    az.chmod(az.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bare_environment}{os.pathsep}/bin{os.pathsep}/usr/bin")
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCliCredential")

    code, _, err = run_ops(tmp_path, None)

    assert code == 1
    assert err.splitlines() == [
        "ops run: your Azure sign-in has expired (AADSTS700082): run `az login` again (in CI, "
        "log in again right before `ops run`: OIDC tokens last minutes)"
    ]


def test_credentials_set_but_no_dns_names_the_dns_failure(
    bare_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = entra_credential(monkeypatch, "https://login.invalid")

    code, _, err = run_ops(tmp_path, credential)

    assert code == 1
    assert err.splitlines() == [
        "ops run: cannot resolve login.invalid (DNS lookup failed): this machine has no network "
        "or no DNS for it; check the connection, or HTTPS_PROXY if you need a proxy"
    ]
    assert "az login" not in err


def test_credentials_set_but_no_connection_names_the_refused_connection(
    bare_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credential = entra_credential(monkeypatch, f"https://127.0.0.1:{closed_port()}")

    code, _, err = run_ops(tmp_path, credential)

    assert code == 1
    assert err.splitlines() == [
        "ops run: cannot connect to 127.0.0.1 (Connection refused): check the network, the "
        "firewall, and HTTPS_PROXY if you need a proxy"
    ]


def test_a_token_but_no_dns_for_the_management_endpoint_is_one_line(
    bare_environment: Path, tmp_path: Path
) -> None:
    code, _, err = run_ops(
        tmp_path, RecordingCredential(), "--arm-endpoint", "https://management.invalid"
    )

    assert code == 1
    assert err.splitlines() == [
        "ops run: cannot resolve management.invalid (DNS lookup failed): this machine has no "
        "network or no DNS for it; check the connection, or HTTPS_PROXY if you need a proxy"
    ]


def test_an_unknown_credential_choice_is_one_line_not_a_traceback(
    bare_environment: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "AzureCLI")

    code, _, err = run_ops(tmp_path, None)

    assert code == 1
    [line] = err.splitlines()
    assert line.startswith(
        "ops run: cannot set up Azure credentials: "
        "Invalid value for AZURE_TOKEN_CREDENTIALS: azurecli"
    )
