"""Per-cloud endpoints: where the management API, Batch's token audience and the portals live.

The cloud comes from azure-core's setting (environment variable AZURE_SDK_CLOUD_CONF, the same one
every Azure SDK client reads); the management endpoint can be overridden on its own (Azure Stack,
or a loopback fake in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from azure.core import AzureClouds
from azure.core.settings import settings
from azure.mgmt.core.tools import get_arm_endpoints


@dataclass(frozen=True)
class CloudEndpoints:
    resource_manager: str
    resource_manager_scope: str
    batch_scope: str
    portal: str
    data_factory_studio: str


# Batch audiences: learn.microsoft.com/azure/batch/batch-aad-auth (public keeps the double slash
# of the resource id "https://batch.core.windows.net/", as the SDK's default does).
_BATCH_SCOPE = {
    AzureClouds.AZURE_PUBLIC_CLOUD: "https://batch.core.windows.net//.default",
    AzureClouds.AZURE_US_GOVERNMENT: "https://batch.core.usgovcloudapi.net/.default",
    AzureClouds.AZURE_CHINA_CLOUD: "https://batch.chinacloudapi.cn/.default",
}
_PORTAL = {
    AzureClouds.AZURE_PUBLIC_CLOUD: "https://portal.azure.com",
    AzureClouds.AZURE_US_GOVERNMENT: "https://portal.azure.us",
    AzureClouds.AZURE_CHINA_CLOUD: "https://portal.azure.cn",
}
_ADF_STUDIO = {
    AzureClouds.AZURE_PUBLIC_CLOUD: "https://adf.azure.com",
    AzureClouds.AZURE_US_GOVERNMENT: "https://adf.azure.us",
    AzureClouds.AZURE_CHINA_CLOUD: "https://adf.azure.cn",
}


def cloud_endpoints(resource_manager: str | None = None) -> CloudEndpoints:
    cloud = settings.azure_cloud()
    arm = get_arm_endpoints(cloud)
    return CloudEndpoints(
        resource_manager=resource_manager or arm["resource_manager"],
        resource_manager_scope=arm["credential_scopes"][0],
        batch_scope=_BATCH_SCOPE[cloud],
        portal=_PORTAL[cloud],
        data_factory_studio=_ADF_STUDIO[cloud],
    )


def factory_resource_id(subscription_id: str, resource_group: str, factory: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.DataFactory/factories/{factory}"
    )


def batch_account_resource_id(subscription_id: str, resource_group: str, account: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.Batch/batchAccounts/{account}"
    )


def pipeline_run_monitoring_url(cloud: CloudEndpoints, factory_id: str, run_id: str) -> str:
    """ADF Studio's page for one pipeline run (activity runs, inputs, outputs, errors).

    The path and `factory=` query are the ones ADF Studio shows in its address bar; Microsoft
    does not document them (UNCONFIRMED: docs/azure-behaviour.md, "Unconfirmed"; checked by
    docs/operations.md "Verified only on Azure" item 1).
    """
    return (
        f"{cloud.data_factory_studio}/en/monitoring/pipelineruns/{quote(run_id)}"
        f"?factory={quote(factory_id, safe='')}"
    )


def portal_resource_url(cloud: CloudEndpoints, resource_id: str) -> str:
    return f"{cloud.portal}/#resource{resource_id}"
