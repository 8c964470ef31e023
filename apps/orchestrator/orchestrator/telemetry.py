"""Logs and traces: Application Insights when configured, plain structured logs otherwise.

Telemetry is never a reason to fail a run: every step here degrades to a
warning in the local log.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # azure-core comes with the [batch] extra; local runs need none
    from azure.core.credentials import TokenCredential


CONNECTION_STRING_ENV = "APPLICATIONINSIGHTS_CONNECTION_STRING"
_LOG_FORMAT = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"

log = logging.getLogger(__name__)


def configure_logging(verbose: bool = False) -> None:
    """key=value lines on stderr; stdout stays for progress and the summary."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format=_LOG_FORMAT,
        stream=sys.stderr,
        force=True,
    )
    # The SDKs log every HTTP request at INFO: keep them for --verbose.
    logging.getLogger("azure").setLevel(logging.DEBUG if verbose else logging.WARNING)


def connection_string_from_key_vault(
    vault_uri: str, secret_name: str, credential: TokenCredential, **client_options: Any
) -> str | None:
    """The Application Insights connection string kept in Key Vault, or None with a warning."""
    try:
        from azure.keyvault.secrets import SecretClient

        client = SecretClient(vault_url=vault_uri, credential=credential, **client_options)
        return client.get_secret(secret_name).value
    except Exception as error:  # telemetry must never fail the run
        log.warning(
            "no Application Insights: cannot read %s from %s: %s", secret_name, vault_uri, error
        )
        return None


def enable_azure_monitor(connection_string: str | None) -> bool:
    """Send logs and traces to Application Insights; False (and a warning) when it cannot."""
    if not connection_string:
        return False
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(connection_string=connection_string, logger_name="orchestrator")
    except Exception as error:  # telemetry must never fail the run
        log.warning("Application Insights unavailable, logging locally only: %s", error)
        return False
    return True


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[None]:
    """A trace span when OpenTelemetry is installed, nothing otherwise."""
    try:
        from opentelemetry import trace
    except ImportError:
        yield
        return
    tracer = trace.get_tracer("orchestrator")
    with tracer.start_as_current_span(name, attributes=attributes):
        yield


def connection_string_from_env() -> str | None:
    return os.environ.get(CONNECTION_STRING_ENV) or None
