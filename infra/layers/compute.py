"""Batch: the account, the code it runs (the processor image in the registry, the orchestrator
as an application package, each rebuilt only when its sources change), the two pools, and the
roles the account, the pools' identities and the deployer hold for them.

Each identity holds exactly what its job needs, each role scoped to the one resource it is for
and carrying its reason (docs/infrastructure.md, "Identities and roles"). Grants come before
their users: the Batch account checks its auto-storage access when it is created, and nodes
pull, download and read as they join.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from infra import names
from infra.components.access import (
    AccessGrants,
    AccessGrantsArgs,
    Grant,
    blob_prefix_condition,
    deployer_principal_type,
)
from infra.components.artifacts import Artifacts, ArtifactsArgs
from infra.components.batch import (
    BatchAccount,
    BatchAccountArgs,
    BatchPools,
    BatchPoolsArgs,
)
from infra.config import StackConfig
from infra.layers import moved_under
from infra.layers.data import Data
from infra.layers.foundation import Foundation
from infra.placement import Placement

BLOB_CONTRIBUTOR = "Storage Blob Data Contributor"


@dataclass
class ComputeArgs:
    placement: Placement
    config: StackConfig
    deployer: pulumi.Output[authorization.GetClientConfigResult]  # who runs `pulumi up`
    batch_account_name: pulumi.Input[str]
    foundation: Foundation
    data: Data


class Compute(pulumi.ComponentResource):
    account: BatchAccount
    artifacts: Artifacts
    pools: BatchPools
    deployer_access: AccessGrants  # what else the deployer's uploads need first (the sample)

    def __init__(
        self, name: str, args: ComputeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:layers:Compute", name, None, opts)
        self._args = args
        identities, storage = args.foundation.identities, args.data.batch_storage
        account_access = self._grants(
            "batch-account-access",
            identities.batch_account.principal_id,
            Grant(
                "auto-storage",
                BLOB_CONTRIBUTOR,
                storage.account_id,
                "Batch manages its auto-storage (package containers and blobs) as the account",
            ),
        )
        self.account = BatchAccount(
            "batch",
            BatchAccountArgs(
                placement=args.placement,
                account_name=args.batch_account_name,
                identity_id=identities.batch_account.id,
                node_identity_id=identities.orchestrator.id,
                auto_storage_account_id=storage.account_id,
                depends_on=[account_access],
            ),
            moved_under(self),
        )
        self.deployer_access = self._deployer_access()
        self.artifacts = self._artifacts()
        self.pools = self._pools(*self._node_access())
        self.register_outputs(
            {
                "batch_account_name": self.account.name,
                "orchestrator_pool_id": self.pools.orchestrator_pool_id,
                "execution_pool_id": self.pools.execution_pool_id,
            }
        )

    def _deployer_access(self) -> AccessGrants:
        """The deployer uploads the orchestrator package with its own Entra ID token: in
        BatchAccountManagedIdentity mode the upload URL Batch returns carries no SAS
        (docs/azure-behaviour.md, "Batch management plane")."""
        args = self._args
        return self._grants(
            "deployer-access",
            args.deployer.object_id,
            Grant(
                "batch-storage-blob",
                BLOB_CONTRIBUTOR,
                args.data.batch_storage.account_id,
                "pulumi up uploads the orchestrator package to auto-storage with Entra ID",
            ),
            Grant(
                # Owner (CI's role) holds no data actions, and Batch's data plane authorizes
                # job reads by them (docs/azure-behaviour.md, "Identities and roles").
                "job-submitter",
                "Azure Batch Job Submitter",
                self.account.id,
                "ops run (CI's run after deploy) reads the job's task counts and stops it",
            ),
            principal_type=args.deployer.client_id.apply(
                lambda app: deployer_principal_type(app, args.config.deployer_principal_type)
            ),
        )

    def _artifacts(self) -> Artifacts:
        args = self._args
        return Artifacts(
            "artifacts",
            ArtifactsArgs(
                placement=args.placement,
                subscription_id=args.deployer.subscription_id,
                registry_name=args.foundation.registry.name,
                registry_login_server=args.foundation.registry.login_server,
                batch_account_name=self.account.name,
                image_builder=args.config.image_builder,
                package_depends_on=list(self.deployer_access.assignments.values()),
                # A replaced registry or account comes back empty under the same name: build the
                # image and publish the package into the new one (Pulumi's replaceWith).
                registry_resource=args.foundation.registry.resource,
                batch_account_resource=self.account.resource,
            ),
            moved_under(self),
        )

    def _grants(
        self,
        name: str,
        principal_id: pulumi.Input[str],
        *grants: Grant,
        principal_type: pulumi.Input[authorization.PrincipalType] | None = None,
    ) -> AccessGrants:
        args = AccessGrantsArgs(
            principal_id=principal_id,
            subscription_id=self._args.deployer.subscription_id,
            grants=list(grants),
        )
        if principal_type is not None:
            args.principal_type = principal_type
        return AccessGrants(name, args, moved_under(self))

    def _node_access(self) -> tuple[AccessGrants, AccessGrants]:
        """What each pool's identity holds: the nodes need it when they join."""
        foundation, storage = self._args.foundation, self._args.data.batch_storage
        identities = foundation.identities
        execution_access = self._grants(
            "execution-access",
            identities.execution.principal_id,
            Grant(
                "acr-pull",
                "AcrPull",
                foundation.registry.id,
                "Execution nodes pull the processor image",
            ),
            Grant(
                "task-logs",
                BLOB_CONTRIBUTOR,
                storage.task_logs_container_id,
                "Processor tasks upload their stdout/stderr to task-logs (output files)",
            ),
        )
        orchestrator_access = self._grants(
            "orchestrator-access",
            identities.orchestrator.principal_id,
            *self._orchestrator_grants(),
        )
        return execution_access, orchestrator_access

    def _orchestrator_grants(self) -> list[Grant]:
        """What the orchestrator pool's identity holds: its job, its secret, its package, the
        activity's files and the lake."""
        foundation, storage = self._args.foundation, self._args.data.batch_storage
        return [
            Grant(
                "job-submitter",
                "Azure Batch Job Submitter",
                self.account.id,
                "Creates its job and tasks, reads their counts, terminates its job",
            ),
            Grant(
                "vault-secrets",
                "Key Vault Secrets User",
                foundation.secrets.vault_id,
                "Reads the Application Insights connection string",
            ),
            Grant(
                "package-read",
                "Storage Blob Data Reader",
                storage.account_id,
                "The auto-storage node identity: nodes download the application package",
            ),
            # Which identity the node uses for ADF's files is UNCONFIRMED (docs/azure-
            # behaviour.md, "Unconfirmed"); the reason below is the assignment's description.
            Grant(
                "adf-jobs",
                BLOB_CONTRIBUTOR,
                storage.adf_jobs_container_id,
                "The activity's runtime files and stdout/stderr in adfjobs (UNCONFIRMED)",
            ),
            # Delta's commit needs the Blob API's conditional put, which the NFS mount lacks
            # (docs/azure-behaviour.md, "Lakehouse"): the commit goes over HTTPS as this
            # identity, which may write under lake/ only (bags and tables stay its NFS job's).
            Grant(
                "lake-write",
                BLOB_CONTRIBUTOR,
                self._args.data.lake.container_id,
                "Commits each run's Delta tables and catalog under lake/ (condition: lake/ only)",
                condition=blob_prefix_condition(names.LAKE_PATH),
            ),
        ]

    def _pools(
        self, execution_access: AccessGrants, orchestrator_access: AccessGrants
    ) -> BatchPools:
        args, foundation, data = self._args, self._args.foundation, self._args.data
        identities, config = foundation.identities, args.config
        return BatchPools(
            "pools",
            BatchPoolsArgs(
                placement=args.placement,
                account_name=self.account.name,
                account_id=self.account.id,
                subnet_id=foundation.network.subnet_id,
                orchestrator_identity_id=identities.orchestrator.id,
                orchestrator_identity_client_id=identities.orchestrator.client_id,
                execution_identity_id=identities.execution.id,
                nfs_source=data.lake.nfs_source,
                registry_server=foundation.registry.login_server,
                processor_image=self.artifacts.processor_image,
                orchestrator_package_version=self.artifacts.orchestrator_package_version,
                key_vault_uri=foundation.secrets.vault_uri,
                app_insights_secret_name=foundation.secrets.app_insights_secret_name,
                orchestrator=config.orchestrator_pool,
                execution=config.execution_pool,
                # Nodes need AcrPull and blob access when they join; the data lake's VNet rule
                # must exist before a node mounts it.
                depends_on=[
                    execution_access,
                    orchestrator_access,
                    data.lake,
                    *self.artifacts.pool_dependencies,
                ],
            ),
            moved_under(self),
        )
