"""The Data Factory and what it runs: the extract-bags pipeline whose Custom activity starts the
orchestrator on the orchestrator pool, its schedule (started after deploy: the DataFactory
component holds both the trigger and its state), the factory
identity's roles, and the sample bag copied into raw/ by the factory (no shared key and no
firewall opening: infra/components/sample_data.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from infra import names
from infra.components.access import AccessGrants, AccessGrantsArgs, Grant
from infra.components.data_factory import (
    DATA_LAKE_LINKED_SERVICE,
    STAGING_LINKED_SERVICE,
    DataFactory,
    DataFactoryArgs,
)
from infra.components.sample_data import SampleData, SampleDataArgs
from infra.config import StackConfig
from infra.layers import moved_under
from infra.layers.compute import BLOB_CONTRIBUTOR, Compute
from infra.layers.data import Data
from infra.layers.foundation import Foundation
from infra.placement import Placement

REPO_ROOT = Path(__file__).resolve().parents[2]
# A real 15 s GPS recording (37 kB, Apache-2.0; provenance in tests/data/bags/PROVENANCE.md).
SAMPLE_BAG = REPO_ROOT / "tests" / "data" / "bags" / "gps-navsatfix.bag"


@dataclass
class OrchestrationArgs:
    placement: Placement
    config: StackConfig
    subscription_id: pulumi.Input[str]
    foundation: Foundation
    data: Data
    compute: Compute


class Orchestration(pulumi.ComponentResource):
    factory: DataFactory

    def __init__(
        self, name: str, args: OrchestrationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:layers:Orchestration", name, None, opts)
        self._args = args
        self.factory = self._factory()
        factory_access = self._factory_access()
        lake_access = self._factory_lake_access()
        if args.config.upload_sample_bag:
            self._sample(
                depends_on=[self.factory, factory_access, lake_access, args.compute.deployer_access]
            )
        self.register_outputs(
            {
                "data_factory_name": self.factory.factory_name,
                "pipeline_name": self.factory.pipeline_name,
            }
        )

    def _factory(self) -> DataFactory:
        args, foundation, data = self._args, self._args.foundation, self._args.data
        account, pools, artifacts = args.compute.account, args.compute.pools, args.compute.artifacts
        return DataFactory(
            "datafactory",
            DataFactoryArgs(
                # The factory's own identity is the credential of its linked services; the
                # activity tells the orchestrator the client id it signs in with, and the
                # identity its tasks use on the execution pool (registry pulls, task logs).
                factory_identity_id=foundation.identities.factory.id,
                orchestrator_identity_client_id=foundation.identities.orchestrator.client_id,
                execution_identity_id=foundation.identities.execution.id,
                resource_group_name=args.placement.resource_group_name,
                location=args.placement.location,
                batch_account_name=account.name,
                batch_account_endpoint=account.endpoint,
                orchestrator_pool_id=pools.orchestrator_pool_id,
                execution_pool_id=pools.execution_pool_id,
                staging_blob_endpoint=data.batch_storage.blob_endpoint,
                data_lake_dfs_endpoint=data.lake.dfs_endpoint,
                key_vault_uri=foundation.secrets.vault_uri,
                app_insights_secret_name=foundation.secrets.app_insights_secret_name,
                registry_server=foundation.registry.login_server,
                processor_image=artifacts.processor_image,
                orchestrator_package_version=artifacts.orchestrator_package_version,
                task_logs_container_url=data.batch_storage.task_logs_container_url,
                orchestrator_app_id=names.ORCHESTRATOR_APP_ID,
                # The blob endpoint of the lake's dfs one (same account, other service).
                data_lake_url=pulumi.Output.concat(
                    data.lake.dfs_endpoint.apply(lambda url: url.replace(".dfs.", ".blob.", 1)),
                    data.lake.container_name,
                ),
                mount_path=names.MOUNT_PATH,
                default_input_path=names.RAW_PATH,
                default_output_path=names.EXTRACTED_PATH,
                default_lake_path=names.LAKE_PATH,
                # The trigger and its started state (infra/components/adf_schedule.py).
                schedule=args.config.schedule,
                event_trigger=args.config.event_trigger,
                data_lake_account_id=data.lake.account_id,
                data_lake_container=names.DATA_CONTAINER,
                quarantine_path=names.QUARANTINE_PATH if args.config.quarantine_bags else "",
                managed_vnet=args.config.managed_vnet,
                subscription_id=args.subscription_id,
                tags=args.placement.tags,
            ),
            moved_under(self),
        )

    def _factory_access(self) -> AccessGrants:
        args, storage = self._args, self._args.data.batch_storage
        return AccessGrants(
            "factory-access",
            AccessGrantsArgs(
                principal_id=args.foundation.identities.factory.principal_id,
                subscription_id=args.subscription_id,
                grants=[
                    Grant(
                        # Batch's data plane authorizes job and task calls by data actions, and
                        # Contributor has none; this is the built-in role holding jobs/* (and
                        # pools/read) without the rights to change pools or the account.
                        "job-submitter",
                        "Azure Batch Job Submitter",
                        args.compute.account.id,
                        "The Custom activity submits its job and task to the orchestrator pool",
                    ),
                    Grant(
                        "adf-jobs",
                        BLOB_CONTRIBUTOR,
                        storage.adf_jobs_container_id,
                        "ADF stages each run's runtime files in adfjobs and reads its outputs",
                    ),
                    Grant(
                        "samples-read",
                        "Storage Blob Data Reader",
                        storage.samples_container_id,
                        "Reads the sample bag pulumi up put there, to copy it into the data lake",
                    ),
                ],
            ),
            moved_under(self),
        )

    def _factory_lake_access(self) -> AccessGrants:
        """The data lake admits ADF only through the trusted-services bypass, which takes only
        the factory's system-assigned identity (docs/azure-behaviour.md, "Storage"), so that
        identity, not the user-assigned one, holds the lake role."""
        args = self._args
        return AccessGrants(
            "factory-system-access",
            AccessGrantsArgs(
                principal_id=self.factory.system_principal_id,
                subscription_id=args.subscription_id,
                grants=[
                    Grant(
                        # The data container is the narrowest scope a built-in role takes.
                        "lake-write",
                        BLOB_CONTRIBUTOR,
                        args.data.lake.container_id,
                        "Copies the sample bag into raw/; the data-lake linked service",
                    ),
                ],
            ),
            moved_under(self),
        )

    def _sample(self, depends_on: list[pulumi.Resource]) -> SampleData:
        """The data lake admits no shared key and no deployer IP: the factory copies the sample
        in, through the trusted-services bypass, with its identity."""
        args = self._args
        return SampleData(
            "sample",
            SampleDataArgs(
                placement=args.placement,
                subscription_id=args.subscription_id,
                factory_name=self.factory.factory_name,
                staging_linked_service=STAGING_LINKED_SERVICE,
                data_lake_linked_service=DATA_LAKE_LINKED_SERVICE,
                staging_blob_endpoint=args.data.batch_storage.blob_endpoint,
                samples_container=names.SAMPLES_CONTAINER,
                data_lake_account_name=args.data.lake.account_name,
                data_container=names.DATA_CONTAINER,
                raw_path=names.RAW_PATH,
                sample=SAMPLE_BAG,
                depends_on=depends_on,
            ),
            moved_under(self),
        )
