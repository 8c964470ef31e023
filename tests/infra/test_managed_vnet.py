"""The managed virtual network option under Pulumi mocks: off by default; on, the managed network
(an ARM template: azure-native has no resource for it), a managed runtime in it, private
endpoints to the lake's dfs and blob, and a linked service through that runtime."""

from __future__ import annotations

import pytest

from infra.components.adf_managed_vnet import MANAGED_VNET_NAME, RUNTIME_NAME
from offline import Recording, run_stack

DEPLOYMENT = "azure-native:resources:Deployment"
RUNTIME = "azure-native:datafactory:IntegrationRuntime"
ENDPOINT = "azure-native:datafactory:ManagedPrivateEndpoint"
LINKED_SERVICE = "azure-native:datafactory:LinkedService"
FACTORY = "azure-native:datafactory:Factory"


@pytest.fixture(scope="module")
def with_vnet() -> Recording:
    return run_stack("dev", config_overrides={"managedVnet": "true"})


def test_off_by_default(recordings: dict[str, Recording]) -> None:
    for recording in recordings.values():
        assert recording.of_type(RUNTIME) == []
        assert recording.of_type(ENDPOINT) == []
        assert recording.of_type(DEPLOYMENT) == []


def test_the_managed_network_is_the_factorys_default(with_vnet: Recording) -> None:
    factory = with_vnet.one(FACTORY)
    [deployment] = with_vnet.of_type(DEPLOYMENT)
    properties = deployment.inputs["properties"]
    assert properties["mode"] == "Incremental"
    [network] = properties["template"]["resources"]
    assert network["type"] == "Microsoft.DataFactory/factories/managedVirtualNetworks"
    assert (
        network["name"] == f"{factory.inputs.get('factoryName') or factory.state['name']}/default"
    )
    assert network["properties"] == {}


def test_the_runtime_runs_in_the_managed_network(with_vnet: Recording) -> None:
    [runtime] = with_vnet.of_type(RUNTIME)
    [deployment] = with_vnet.of_type(DEPLOYMENT)
    assert runtime.inputs["integrationRuntimeName"] == RUNTIME_NAME
    properties = runtime.inputs["properties"]
    assert properties["type"] == "Managed"
    assert properties["managedVirtualNetwork"] == {
        "referenceName": MANAGED_VNET_NAME,
        "type": "ManagedVirtualNetworkReference",
    }
    assert properties["computeProperties"] == {"location": "AutoResolve"}
    assert deployment.urn in runtime.options.depends_on  # the network exists first


def test_private_endpoints_reach_the_lakes_dfs_and_blob(with_vnet: Recording) -> None:
    lake = with_vnet.one("azure-native:storage:StorageAccount", "datalake-account")
    endpoints = {e.inputs["managedPrivateEndpointName"]: e for e in with_vnet.of_type(ENDPOINT)}
    assert sorted(endpoints) == ["data-lake-blob", "data-lake-dfs"]
    for group in ("dfs", "blob"):
        endpoint = endpoints[f"data-lake-{group}"]
        assert endpoint.inputs["managedVirtualNetworkName"] == "default"
        assert endpoint.inputs["properties"] == {
            "groupId": group,
            "privateLinkResourceId": lake.id,
        }


def test_a_linked_service_connects_through_the_runtime(with_vnet: Recording) -> None:
    [linked] = [
        s for s in with_vnet.of_type(LINKED_SERVICE)
        if s.inputs["linkedServiceName"] == "data-lake-managed-vnet"
    ]  # fmt: skip
    properties = linked.inputs["properties"]
    assert properties["type"] == "AzureBlobFS"
    assert properties["connectVia"] == {
        "referenceName": RUNTIME_NAME,
        "type": "IntegrationRuntimeReference",
    }
    assert "credential" not in properties  # the factory's system identity, no key
