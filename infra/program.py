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
from infra.components.access import (
    AccessGrants,
    AccessGrantsArgs,
    Grant,
    deployer_principal_type,
)
from infra.components.artifacts import Artifacts, ArtifactsArgs
from infra.components.batch import (
    BatchAccount,
    BatchAccountArgs,
    BatchPools,
    BatchPoolsArgs,
    PoolSizing,
)
from infra.components.batch_storage import BatchStorage, BatchStorageArgs
from infra.components.data_factory import (
    DATA_LAKE_LINKED_SERVICE,
    STAGING_LINKED_SERVICE,
    DataFactory,
    DataFactoryArgs,
    ScheduleArgs,
)
from infra.components.data_lake import DataLake, DataLakeArgs
from infra.components.identity import Identities, IdentitiesArgs
from infra.components.monitoring import Monitoring, MonitoringArgs
from infra.components.network import Network, NetworkArgs
from infra.components.registry import Registry, RegistryArgs
from infra.components.sample_data import SampleData, SampleDataArgs
from infra.components.secrets import Secrets, SecretsArgs
from infra.config import StackConfig, storage_ip_rule, uploader_principal
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
    identities = Identities(
        "identity", IdentitiesArgs(resource_group_name=rg, location=location, tags=tags)
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
            ip_rules=[storage_ip_rule(r) for r in config.uploader_ip_ranges],
            protect=config.protect_data_lake,
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
            adf_jobs_container=naming.ADF_JOBS_CONTAINER,
            samples_container=naming.SAMPLES_CONTAINER,
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

    # Each identity holds exactly what its job needs, each role scoped to the one resource it is
    # for and carrying its reason (docs/infrastructure.md, "Identities and roles"). Grants on
    # storage, registry and vault come before their users: the Batch account checks its
    # auto-storage access when it is created, and nodes pull, download and read as they join.
    account_access = AccessGrants(
        "batch-account-access",
        AccessGrantsArgs(
            principal_id=identities.batch_account.principal_id,
            subscription_id=client.subscription_id,
            grants=[
                Grant(
                    "auto-storage",
                    "Storage Blob Data Contributor",
                    batch_storage.account_id,
                    "Batch manages its auto-storage (package containers and blobs) as the account",
                ),
            ],
        ),
    )
    execution_access = AccessGrants(
        "execution-access",
        AccessGrantsArgs(
            principal_id=identities.execution.principal_id,
            subscription_id=client.subscription_id,
            grants=[
                Grant(
                    "acr-pull", "AcrPull", registry.id, "Execution nodes pull the processor image"
                ),
                Grant(
                    "task-logs",
                    "Storage Blob Data Contributor",
                    batch_storage.task_logs_container_id,
                    "Processor tasks upload their stdout/stderr to task-logs (output files)",
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
            identity_id=identities.batch_account.id,
            node_identity_id=identities.orchestrator.id,
            auto_storage_account_id=batch_storage.account_id,
            depends_on=[account_access],
            tags=tags,
        ),
    )
    orchestrator_access = AccessGrants(
        "orchestrator-access",
        AccessGrantsArgs(
            principal_id=identities.orchestrator.principal_id,
            subscription_id=client.subscription_id,
            grants=[
                Grant(
                    "job-submitter",
                    "Azure Batch Job Submitter",
                    account.id,
                    "Creates its job and tasks, reads their counts, terminates its job",
                ),
                Grant(
                    "vault-secrets",
                    "Key Vault Secrets User",
                    secrets.vault_id,
                    "Reads the Application Insights connection string",
                ),
                Grant(
                    "package-read",
                    "Storage Blob Data Reader",
                    batch_storage.account_id,
                    "The auto-storage node identity: nodes download the application package",
                ),
                Grant(
                    "adf-jobs",
                    "Storage Blob Data Contributor",
                    batch_storage.adf_jobs_container_id,
                    "The activity's runtime files and stdout/stderr in adfjobs (UNCONFIRMED)",
                ),
            ],
        ),
    )
    factory_access = AccessGrants(
        "factory-access",
        AccessGrantsArgs(
            principal_id=identities.factory.principal_id,
            subscription_id=client.subscription_id,
            grants=[
                Grant(
                    # Batch's data plane authorizes job and task calls by data actions, and
                    # Contributor has none; this is the built-in role holding jobs/* (and
                    # pools/read) without the rights to change pools or the account.
                    "job-submitter",
                    "Azure Batch Job Submitter",
                    account.id,
                    "The Custom activity submits its job and task to the orchestrator pool",
                ),
                Grant(
                    "adf-jobs",
                    "Storage Blob Data Contributor",
                    batch_storage.adf_jobs_container_id,
                    "ADF stages each run's runtime files in adfjobs and reads its outputs",
                ),
                Grant(
                    "lake-write",
                    "Storage Blob Data Contributor",
                    lake.container_id,
                    "Copies the sample bag into raw/; the data-lake linked service",
                ),
                Grant(
                    "samples-read",
                    "Storage Blob Data Reader",
                    batch_storage.samples_container_id,
                    "Reads the sample bag pulumi up put there, to copy it into the data lake",
                ),
            ],
        ),
    )

    # People and robots that upload bags (docs/operations.md, "Bags in"): the network they come
    # from is in the data lake firewall (uploaderIpRanges), and this lets them write.
    for entry in config.uploader_principals:
        kind, object_id = uploader_principal(entry)
        AccessGrants(
            f"uploader-{object_id}",
            AccessGrantsArgs(
                principal_id=object_id,
                principal_type=authorization.PrincipalType(kind),
                subscription_id=client.subscription_id,
                grants=[
                    Grant(
                        "lake-write",
                        "Storage Blob Data Contributor",
                        lake.container_id,
                        "Uploads bags to raw/ and reads the extracted tables",
                    )
                ],
            ),
        )

    # The deployer uploads the orchestrator package with its own Entra ID token: in
    # BatchAccountManagedIdentity mode the upload URL Batch returns carries no SAS
    # (docs/azure-behaviour.md, "Batch management plane").
    deployer_access = AccessGrants(
        "deployer-access",
        AccessGrantsArgs(
            principal_id=client.object_id,
            principal_type=client.client_id.apply(
                lambda app: deployer_principal_type(app, config.deployer_principal_type)
            ),
            subscription_id=client.subscription_id,
            grants=[
                Grant(
                    "batch-storage-blob",
                    "Storage Blob Data Contributor",
                    batch_storage.account_id,
                    "pulumi up uploads the orchestrator package to auto-storage with Entra ID",
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
            package_depends_on=list(deployer_access.assignments.values()),
            # A replaced registry or account comes back empty under the same name: build the
            # image and publish the package into the new one (Pulumi's replaceWith).
            registry_resource=registry.resource,
            batch_account_resource=account.resource,
        ),
    )

    pools = BatchPools(
        "pools",
        BatchPoolsArgs(
            resource_group_name=rg,
            account_name=account.name,
            account_id=account.id,
            subnet_id=net.subnet_id,
            orchestrator_identity_id=identities.orchestrator.id,
            orchestrator_identity_client_id=identities.orchestrator.client_id,
            execution_identity_id=identities.execution.id,
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
            depends_on=[execution_access, orchestrator_access, lake, *artifacts.pool_dependencies],
        ),
    )

    schedule = config.schedule
    factory = DataFactory(
        "datafactory",
        DataFactoryArgs(
            # The factory's own identity is the credential of its linked services; the activity
            # tells the orchestrator the client id it signs in with, and the identity its tasks
            # use on the execution pool (registry pulls, task log uploads).
            factory_identity_id=identities.factory.id,
            factory_identity_client_id=identities.factory.client_id,
            orchestrator_identity_client_id=identities.orchestrator.client_id,
            execution_identity_id=identities.execution.id,
            resource_group_name=rg,
            location=location,
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

    if config.upload_sample_bag:
        # The data lake admits no shared key and no deployer IP: the factory copies the sample
        # in, through the trusted-services bypass, with its identity.
        SampleData(
            "sample",
            SampleDataArgs(
                subscription_id=client.subscription_id,
                resource_group_name=rg,
                factory_name=factory.factory_name,
                staging_linked_service=STAGING_LINKED_SERVICE,
                data_lake_linked_service=DATA_LAKE_LINKED_SERVICE,
                staging_blob_endpoint=batch_storage.blob_endpoint,
                samples_container=naming.SAMPLES_CONTAINER,
                data_lake_account_name=lake.account_name,
                data_container=naming.DATA_CONTAINER,
                raw_path=naming.RAW_PATH,
                sample=SAMPLE_BAG,
                depends_on=[factory, factory_access, deployer_access],
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
