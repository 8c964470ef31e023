"""The Pulumi program: one stack = one complete environment (docs/contracts.md, DESIGN.md §3).

Order matters only through data flow and explicit `depends_on`: the network and identity first,
storage, secrets, monitoring and registry, the role assignments the Batch account needs, the
Batch account, the build artifacts, the pools, the role assignments on the Batch account, and
the Data Factory last.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
from pulumi_azure_native import authorization, resources

from infra import naming
from infra.components.access import AccessGrants, AccessGrantsArgs, Grant
from infra.components.artifacts import Artifacts, ArtifactsArgs
from infra.components.batch import (
    BatchAccount,
    BatchAccountArgs,
    BatchPools,
    BatchPoolsArgs,
    PoolSizing,
)
from infra.components.batch_storage import BatchStorage, BatchStorageArgs
from infra.components.data_factory import DataFactory, DataFactoryArgs, ScheduleArgs
from infra.components.data_lake import DataLake, DataLakeArgs
from infra.components.identity import SharedIdentity, SharedIdentityArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.network import Network, NetworkArgs
from infra.components.registry import Registry, RegistryArgs
from infra.components.secrets import Secrets, SecretsArgs
from infra.config import StackConfig, storage_ip_rule
from infra.dynamic.trigger_state import TriggerState, TriggerStateArgs

REPO_ROOT = Path(__file__).resolve().parent.parent
# A real 15 s GPS recording (37 kB, Apache-2.0; provenance in tests/data/bags/PROVENANCE.md).
SAMPLE_BAG = REPO_ROOT / "tests" / "data" / "bags" / "gps-navsatfix.bag"


def main() -> None:
    """Declare the whole stack. Config is validated before the first resource."""
    config = StackConfig.from_pulumi()
    project, stack = pulumi.get_project(), pulumi.get_stack()
    tags = {"project": project, "stack": stack}
    location = config.location

    client = authorization.get_client_config_output()
    names = client.subscription_id.apply(
        lambda sub: naming.PhysicalNames.derive(project, stack, sub)
    )

    group = resources.ResourceGroup(
        "rg",
        resource_group_name=f"rg-{project}-{stack}",
        location=location,
        tags=tags,
    )
    rg = group.name

    net = Network(
        "network",
        NetworkArgs(
            resource_group_name=rg,
            location=location,
            address_space=config.vnet_address_space,
            subnet_prefix=config.subnet_address_prefix,
            tags=tags,
        ),
    )
    identity = SharedIdentity(
        "identity", SharedIdentityArgs(resource_group_name=rg, location=location, tags=tags)
    )

    if config.upload_sample_bag and not config.deployer_ip_ranges:
        pulumi.log.warn(
            "the sample bag is not uploaded: the data lake firewall only admits the deployer "
            "from rosbag-batch:deployerIpRanges. Set it to your public IP: pulumi config set "
            "--path 'rosbag-batch:deployerIpRanges[0]' \"$(curl -s https://api.ipify.org)\""
        )
    lake = DataLake(
        "datalake",
        DataLakeArgs(
            resource_group_name=rg,
            location=location,
            account_name=names.apply(lambda n: n.data_lake),
            sku=config.data_lake_sku,
            subnet_id=net.subnet_id,
            container_name=naming.DATA_CONTAINER,
            deployer_ip_rules=[storage_ip_rule(r) for r in config.deployer_ip_ranges],
            protect=config.protect_data_lake,
            sample=(naming.RAW_PATH + SAMPLE_BAG.name, SAMPLE_BAG)
            if config.sample_bag_enabled
            else None,
            tags=tags,
        ),
    )
    batch_storage = BatchStorage(
        "batchstorage",
        BatchStorageArgs(
            resource_group_name=rg,
            location=location,
            account_name=names.apply(lambda n: n.batch_storage),
            task_logs_container=naming.TASK_LOGS_CONTAINER,
            tags=tags,
        ),
    )
    monitoring = Monitoring(
        "monitoring",
        MonitoringArgs(
            resource_group_name=rg,
            location=location,
            retention_days=config.log_retention_days,
            tags=tags,
        ),
    )
    secrets = Secrets(
        "secrets",
        SecretsArgs(
            resource_group_name=rg,
            location=location,
            vault_name=names.apply(lambda n: n.key_vault),
            tenant_id=client.tenant_id,
            purge_protection=config.key_vault_purge_protection,
            retention_days=config.key_vault_retention_days,
            app_insights_secret_name=naming.APP_INSIGHTS_SECRET_NAME,
            app_insights_connection_string=monitoring.connection_string,
            tags=tags,
        ),
    )
    registry = Registry(
        "registry",
        RegistryArgs(
            resource_group_name=rg,
            location=location,
            registry_name=names.apply(lambda n: n.registry),
            tags=tags,
        ),
    )

    # Everything the identity needs before the Batch account and pools exist.
    resource_access = AccessGrants(
        "resource-access",
        AccessGrantsArgs(
            principal_id=identity.principal_id,
            subscription_id=client.subscription_id,
            grants=[
                Grant(
                    "acr-pull",
                    "AcrPull",
                    registry.id,
                    "Execution pool nodes pull the processor image",
                ),
                Grant(
                    "batch-storage-blob",
                    "Storage Blob Data Contributor",
                    batch_storage.account_id,
                    "Batch auto-storage (app packages), ADF staging, task log output files",
                ),
                Grant(
                    "lake-blob-read",
                    "Storage Blob Data Reader",
                    lake.account_id,
                    "ADF's ADLS linked service reads the data lake (NFS itself ignores RBAC)",
                ),
                Grant(
                    "vault-secrets",
                    "Key Vault Secrets User",
                    secrets.vault_id,
                    "The orchestrator reads the Application Insights connection string",
                ),
            ],
        ),
    )

    account = BatchAccount(
        "batch",
        BatchAccountArgs(
            resource_group_name=rg,
            location=location,
            account_name=names.apply(lambda n: n.batch_account),
            identity_id=identity.id,
            auto_storage_account_id=batch_storage.account_id,
            depends_on=[resource_access],
            tags=tags,
        ),
    )
    AccessGrants(
        "batch-access",
        AccessGrantsArgs(
            principal_id=identity.principal_id,
            subscription_id=client.subscription_id,
            grants=[
                Grant(
                    "job-submitter",
                    "Azure Batch Job Submitter",
                    account.id,
                    "The orchestrator creates its jobs and tasks on the execution pool",
                ),
                Grant(
                    # Microsoft's documented role for the Custom activity; a narrower Batch
                    # role is UNCONFIRMED for ADF (checklist §5), so this one is kept.
                    "adf-batch",
                    "Contributor",
                    account.id,
                    "ADF's Custom activity submits its task to the orchestrator pool",
                ),
            ],
        ),
    )

    # The code this checkout ships, rebuilt only when its sources change (infra/dynamic/).
    artifacts = Artifacts(
        "artifacts",
        ArtifactsArgs(
            subscription_id=client.subscription_id,
            resource_group_name=rg,
            registry_name=registry.name,
            registry_login_server=registry.login_server,
            batch_account_name=account.name,
            image_builder=config.image_builder,
        ),
    )

    pools = BatchPools(
        "pools",
        BatchPoolsArgs(
            resource_group_name=rg,
            account_name=account.name,
            account_id=account.id,
            subnet_id=net.subnet_id,
            identity_id=identity.id,
            identity_client_id=identity.client_id,
            nfs_source=lake.nfs_source,
            registry_server=registry.login_server,
            processor_image=artifacts.processor_image,
            orchestrator_package_version=artifacts.orchestrator_package_version,
            key_vault_uri=secrets.vault_uri,
            app_insights_secret_name=secrets.app_insights_secret_name,
            orchestrator=PoolSizing(
                config.orchestrator_vm_size,
                config.orchestrator_max_nodes,
                config.orchestrator_task_slots_per_node,
            ),
            execution=PoolSizing(
                config.execution_vm_size,
                config.execution_max_nodes,
                config.execution_task_slots_per_node,
            ),
            # Nodes need AcrPull and blob access when they join; the data lake's VNet rule
            # must exist before a node mounts it.
            depends_on=[resource_access, lake, *artifacts.pool_dependencies],
        ),
    )

    schedule = config.schedule
    factory = DataFactory(
        "datafactory",
        DataFactoryArgs(
            resource_group_name=rg,
            location=location,
            # One shared identity for all of them until the identities are split.
            factory_identity_id=identity.id,
            factory_identity_client_id=identity.client_id,
            orchestrator_identity_client_id=identity.client_id,
            execution_identity_id=identity.id,
            batch_account_name=account.name,
            batch_account_endpoint=account.endpoint,
            orchestrator_pool_id=pools.orchestrator_pool_id,
            execution_pool_id=pools.execution_pool_id,
            staging_blob_endpoint=batch_storage.blob_endpoint,
            data_lake_dfs_endpoint=lake.dfs_endpoint,
            key_vault_uri=secrets.vault_uri,
            app_insights_secret_name=secrets.app_insights_secret_name,
            registry_server=registry.login_server,
            processor_image=artifacts.processor_image,
            orchestrator_package_version=artifacts.orchestrator_package_version,
            task_logs_container_url=batch_storage.task_logs_container_url,
            orchestrator_app_id=naming.ORCHESTRATOR_APP_ID,
            mount_path=naming.MOUNT_PATH,
            default_input_path=naming.RAW_PATH,
            default_output_path=naming.EXTRACTED_PATH,
            schedule=ScheduleArgs(schedule.frequency, schedule.interval, schedule.start_time)
            if schedule
            else None,
            tags=tags,
        ),
    )

    if schedule is not None:
        # ADF creates triggers Stopped; this starts it, and stops it before changes and destroy.
        TriggerState(
            "schedule-state",
            TriggerStateArgs(
                subscription_id=client.subscription_id,
                resource_group_name=rg,
                factory_name=factory.factory_name,
                trigger_name=factory.trigger_name.apply(lambda name: name or ""),
                enabled=True,
                revision=f"{schedule.frequency}/{schedule.interval}/{schedule.start_time}",
            ),
        )

    # Stack outputs (docs/contracts.md §4): names and endpoints for CI and ops; no key material.
    pulumi.export("subscriptionId", client.subscription_id)
    pulumi.export("location", location)
    pulumi.export("resourceGroupName", rg)
    pulumi.export("dataFactoryName", factory.factory_name)
    pulumi.export("pipelineName", factory.pipeline_name)
    pulumi.export("batchAccountName", account.name)
    pulumi.export("batchAccountEndpoint", account.endpoint)
    pulumi.export("orchestratorPoolId", pools.orchestrator_pool_id)
    pulumi.export("executionPoolId", pools.execution_pool_id)
    pulumi.export("registryLoginServer", registry.login_server)
    pulumi.export("processorImage", artifacts.processor_image)
    pulumi.export("orchestratorPackageVersion", artifacts.orchestrator_package_version)
    pulumi.export("dataLakeAccountName", lake.account_name)
    pulumi.export("dataLakeContainer", lake.container_name)
    pulumi.export("rawPath", naming.RAW_PATH)
    pulumi.export("extractedPath", naming.EXTRACTED_PATH)
    pulumi.export("keyVaultUri", secrets.vault_uri)
    pulumi.export(
        "applicationInsightsConnectionString", pulumi.Output.secret(monitoring.connection_string)
    )
