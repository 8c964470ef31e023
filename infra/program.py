"""The Pulumi program: one stack = one complete environment (docs/infrastructure.md).

Read top-down: the config, validated before the first resource; the resource group; the four
layers, each built on the ones before (infra/layers/); the stack outputs. Order between
resources comes only from data flow and explicit `depends_on` inside the layers.
"""

from __future__ import annotations

import pulumi
from pulumi_azure_native import authorization

from infra.config import StackConfig
from infra.layers.compute import Compute, ComputeArgs
from infra.layers.data import Data, DataArgs
from infra.layers.foundation import Foundation, FoundationArgs
from infra.layers.orchestration import Orchestration, OrchestrationArgs
from infra.names import EXTRACTED_PATH, RAW_PATH, PhysicalNames
from infra.placement import Placement, stack_resource_group


def main() -> None:
    """Declare the whole stack."""
    config = StackConfig.from_pulumi()
    deployer = authorization.get_client_config_output()  # the subscription, tenant and principal
    physical = deployer.subscription_id.apply(
        lambda sub: PhysicalNames.derive(pulumi.get_project(), pulumi.get_stack(), sub)
    )
    place = stack_resource_group(config.location)

    foundation = Foundation(
        "foundation",
        FoundationArgs(place, config, deployer.tenant_id, physical.apply(lambda n: n.registry)),
    )
    data = Data(
        "data",
        DataArgs(
            place,
            config,
            deployer.subscription_id,
            subnet_id=foundation.network.subnet_id,
            data_lake_name=physical.apply(lambda n: n.data_lake),
            batch_storage_name=physical.apply(lambda n: n.batch_storage),
        ),
    )
    compute = Compute(
        "compute",
        ComputeArgs(
            place, config, deployer, physical.apply(lambda n: n.batch_account), foundation, data
        ),
    )
    orchestration = Orchestration(
        "orchestration",
        OrchestrationArgs(place, config, deployer.subscription_id, foundation, data, compute),
    )
    export_stack_outputs(deployer, place, foundation, data, compute, orchestration)


def export_stack_outputs(
    deployer: pulumi.Output[authorization.GetClientConfigResult],
    place: Placement,
    foundation: Foundation,
    data: Data,
    compute: Compute,
    orchestration: Orchestration,
) -> None:
    """Names and endpoints for CI and ops (docs/contracts.md §4); no key material."""
    pulumi.export("subscriptionId", deployer.subscription_id)
    pulumi.export("location", place.location)
    pulumi.export("resourceGroupName", place.resource_group_name)
    pulumi.export("dataFactoryName", orchestration.factory.factory_name)
    pulumi.export("pipelineName", orchestration.factory.pipeline_name)
    pulumi.export("batchAccountName", compute.account.name)
    pulumi.export("batchAccountEndpoint", compute.account.endpoint)
    pulumi.export("orchestratorPoolId", compute.pools.orchestrator_pool_id)
    pulumi.export("executionPoolId", compute.pools.execution_pool_id)
    pulumi.export("registryLoginServer", foundation.registry.login_server)
    pulumi.export("processorImage", compute.artifacts.processor_image)
    pulumi.export("orchestratorPackageVersion", compute.artifacts.orchestrator_package_version)
    pulumi.export("dataLakeAccountName", data.lake.account_name)
    pulumi.export("dataLakeContainer", data.lake.container_name)
    pulumi.export("rawPath", RAW_PATH)
    pulumi.export("extractedPath", EXTRACTED_PATH)
    pulumi.export("keyVaultUri", foundation.secrets.vault_uri)
    pulumi.export(
        "applicationInsightsConnectionString",
        pulumi.Output.secret(foundation.monitoring.connection_string),
    )
