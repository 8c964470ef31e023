"""Shared pieces of the ops tests: a credential that records what it is asked for, and stack
outputs shaped like `pulumi stack output --json` (docs/contracts.md §4)."""

from __future__ import annotations

import functools
import time
from typing import Any

from azure.core.credentials import AccessToken


class RecordingCredential:
    """A TokenCredential that hands out a fixed token and records the scopes asked for."""

    token = "fake-token-for-loopback"

    def __init__(self) -> None:
        self.scopes: list[str] = []

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


def stack_outputs(batch_endpoint: str) -> dict[str, str]:
    return {
        "subscriptionId": "00000000-1111-2222-3333-444444444444",
        "location": "westeurope",
        "resourceGroupName": "rg-rosbag-dev",
        "dataFactoryName": "adf-rosbag-dev",
        "pipelineName": "extract-bags",
        "batchAccountName": "batchrosbagdev",
        "batchAccountEndpoint": batch_endpoint,
        "orchestratorPoolId": "orchestrator",
        "executionPoolId": "execution",
        "registryLoginServer": "acrrosbagdev.azurecr.io",
        "processorImage": "acrrosbagdev.azurecr.io/processor:abc123",
        "orchestratorPackageVersion": "abc123",
        "dataLakeAccountName": "dlrosbagdev",
        "dataLakeContainer": "data",
        "rawPath": "raw/",
        "extractedPath": "extracted/",
        "keyVaultUri": "https://kv-rosbag-dev.vault.azure.net/",
        "applicationInsightsConnectionString": "[secret]",
    }


@functools.cache
def declared_pipeline() -> dict[str, Any]:
    """The `extract-bags` pipeline as the program declares it for the dev stack (under the
    offline mocks), for the fake Data Factory to run."""
    from offline import run_stack

    recording = run_stack("dev")
    return dict(recording.one("azure-native:datafactory:Pipeline", "datafactory-pipeline").inputs)
