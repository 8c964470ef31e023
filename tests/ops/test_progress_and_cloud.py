"""Progress lines (what changes prints, the heartbeat) and the per-cloud endpoints."""

from __future__ import annotations

import io

import pytest

from ops.cloud import cloud_endpoints
from ops.progress import ProgressPrinter
from ops.run_state import ActivityState, Snapshot, TaskCounts


def snapshot(seconds: float, succeeded: int) -> Snapshot:
    return Snapshot(
        elapsed_seconds=seconds,
        pipeline_status="InProgress",
        activities=(ActivityState("extract-bags", "InProgress"),),
        job_id="extract-1",
        tasks=TaskCounts(active=0, running=4 - succeeded, succeeded=succeeded, failed=0),
    )


def test_prints_on_change_and_as_a_heartbeat_when_nothing_changes() -> None:
    stream = io.StringIO()
    printer = ProgressPrinter(stream, heartbeat_seconds=60)

    for seconds, succeeded in [(0, 0), (15, 0), (30, 1), (45, 1), (89, 1), (90, 1), (100, 1)]:
        printer.update(snapshot(seconds, succeeded))

    stamps = [line.split("]")[0] + "]" for line in stream.getvalue().splitlines()]
    assert stamps == ["[0:00:00]", "[0:00:30]", "[0:01:30]"]


def test_clock_shows_hours_for_long_runs() -> None:
    stream = io.StringIO()
    ProgressPrinter(stream).update(snapshot(3 * 3600 + 62, 2))

    assert stream.getvalue().startswith("[3:01:02] pipeline InProgress | extract-bags InProgress")


@pytest.mark.parametrize(
    ("cloud", "arm", "batch_scope", "portal", "studio"),
    [
        (
            None,
            "https://management.azure.com/",
            "https://batch.core.windows.net//.default",
            "https://portal.azure.com",
            "https://adf.azure.com",
        ),
        (
            "AZURE_US_GOVERNMENT",
            "https://management.usgovcloudapi.net/",
            "https://batch.core.usgovcloudapi.net/.default",
            "https://portal.azure.us",
            "https://adf.azure.us",
        ),
        (
            "AZURE_CHINA_CLOUD",
            "https://management.chinacloudapi.cn/",
            "https://batch.chinacloudapi.cn/.default",
            "https://portal.azure.cn",
            "https://adf.azure.cn",
        ),
    ],
)
def test_endpoints_follow_the_sdk_cloud_setting(
    monkeypatch: pytest.MonkeyPatch,
    cloud: str | None,
    arm: str,
    batch_scope: str,
    portal: str,
    studio: str,
) -> None:
    if cloud is None:
        monkeypatch.delenv("AZURE_SDK_CLOUD_CONF", raising=False)
    else:
        monkeypatch.setenv("AZURE_SDK_CLOUD_CONF", cloud)

    endpoints = cloud_endpoints()

    assert endpoints.resource_manager == arm
    assert endpoints.batch_scope == batch_scope
    assert (endpoints.portal, endpoints.data_factory_studio) == (portal, studio)


def test_an_explicit_management_endpoint_keeps_the_clouds_token_audience(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AZURE_SDK_CLOUD_CONF", raising=False)

    endpoints = cloud_endpoints("https://127.0.0.1:8443")

    assert endpoints.resource_manager == "https://127.0.0.1:8443"
    assert endpoints.resource_manager_scope == "https://management.azure.com/.default"
