"""Building the Batch client: Entra ID only, and retries for every transient error."""

from __future__ import annotations

from typing import Any

from azure.batch import BatchClient
from azure.core.credentials import TokenCredential
from azure.core.pipeline.policies import RetryPolicy


class IdempotentRetryPolicy(RetryPolicy):
    """Retries POST and PATCH too, on 429, 5xx and connection errors.

    azure-core retries POST only on 500/503/504 and never on 429 without a
    Retry-After header or on a dropped connection. Every call the orchestrator
    makes is safe to repeat: creating a job that exists answers 409 (handled as
    "found"), adding a task that exists answers TaskExists (the SDK counts it as
    added), and the job update sets the same value again.
    """

    def _is_method_retryable(self, settings: Any, request: Any, response: Any = None) -> bool:
        return True


def make_batch_client(
    endpoint: str,
    credential: TokenCredential,
    *,
    retry_total: int = 8,
    retry_backoff_factor: float = 1.0,
    retry_backoff_max: int = 60,
    **transport: Any,
) -> BatchClient:
    """A client for `endpoint` authenticated with `credential` (a managed identity on Azure).

    `transport` passes through azure-core options such as `connection_verify`
    (tests point it at a throwaway CA) and `connection_timeout`.
    """
    return BatchClient(
        endpoint=endpoint,
        credential=credential,
        retry_policy=IdempotentRetryPolicy(
            retry_total=retry_total,
            retry_backoff_factor=retry_backoff_factor,
            retry_backoff_max=retry_backoff_max,
        ),
        **transport,
    )
