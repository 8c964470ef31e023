"""The Batch account's auto-storage (application packages), ADF custom-activity staging (the
`adfjobs` container, made here so roles can be scoped to it), the `task-logs` container for
task stdout/stderr output files, and `samples`, where `pulumi up` puts the sample bag for the
factory to copy into the data lake. Reached with Entra ID only (roles per identity in
infra/program.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from infra.placement import Placement


@dataclass
class BatchStorageArgs:
    placement: Placement
    account_name: pulumi.Input[str]
    task_logs_container: str
    # ADF's Custom activity keeps the runtime files and stdout/stderr of every run here
    # (learn.microsoft.com/azure/data-factory/transform-data-using-custom-activity).
    adf_jobs_container: str = "adfjobs"
    # Where `pulumi up` puts the sample bag for the factory to copy into the data lake.
    samples_container: str = "samples"


class BatchStorage(pulumi.ComponentResource):
    account_id: pulumi.Output[str]
    blob_endpoint: pulumi.Output[str]
    task_logs_container_id: pulumi.Output[str]  # role scope: processor tasks write logs here only
    task_logs_container_url: pulumi.Output[str]
    adf_jobs_container_id: pulumi.Output[str]
    samples_container_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: BatchStorageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:storage:BatchStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = storage.StorageAccount(
            f"{name}-account",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            account_name=args.account_name,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
            enable_https_traffic_only=True,
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            allow_blob_public_access=False,
            # Shared keys stay at Azure's default (on): whether Batch package uploads and ADF's
            # custom-activity staging can do without them when every party uses the identity is
            # UNCONFIRMED (docs/azure-behaviour.md, "Unconfirmed"). This program never reads a
            # key; everything it declares uses Entra ID.
            tags=dict(args.placement.tags),
            opts=child,
        )

        def container(suffix: str, container_name: str) -> storage.BlobContainer:
            return storage.BlobContainer(
                f"{name}-{suffix}",
                resource_group_name=args.placement.resource_group_name,
                account_name=account.name,
                container_name=container_name,
                public_access=storage.PublicAccess.NONE,
                opts=child,
            )

        logs = container("task-logs", args.task_logs_container)
        adf_jobs = container("adfjobs", args.adf_jobs_container)
        samples = container("samples", args.samples_container)
        self.account_id = account.id
        self.blob_endpoint = account.primary_endpoints.blob
        self.task_logs_container_id = logs.id
        self.task_logs_container_url = pulumi.Output.concat(self.blob_endpoint, logs.name)
        self.adf_jobs_container_id = adf_jobs.id
        self.samples_container_id = samples.id
        self.register_outputs(
            {
                "account_id": self.account_id,
                "blob_endpoint": self.blob_endpoint,
                "task_logs_container_url": self.task_logs_container_url,
                "adf_jobs_container_id": self.adf_jobs_container_id,
                "samples_container_id": self.samples_container_id,
            }
        )
