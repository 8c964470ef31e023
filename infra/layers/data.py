"""Where data lives: the data lake (raw/ and extracted/, NFS-mounted by the pools), the Batch
storage account (application packages, ADF staging, task logs, the sample bag on its way in),
and the people and robots allowed to upload bags (docs/operations.md, "Bags in")."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from infra import names
from infra.components.access import AccessGrants, AccessGrantsArgs, Grant
from infra.components.batch_storage import BatchStorage, BatchStorageArgs
from infra.components.data_lake import DataLake, DataLakeArgs
from infra.config import StackConfig, storage_ip_rule, uploader_principal
from infra.layers import moved_under
from infra.placement import Placement


@dataclass
class DataArgs:
    placement: Placement
    config: StackConfig
    subscription_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]  # the pools': the only network the data lake admits for NFS
    data_lake_name: pulumi.Input[str]
    batch_storage_name: pulumi.Input[str]


class Data(pulumi.ComponentResource):
    lake: DataLake
    batch_storage: BatchStorage
    uploaders: list[AccessGrants]

    def __init__(
        self, name: str, args: DataArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:layers:Data", name, None, opts)
        place, config = args.placement, args.config
        self.lake = DataLake(
            "datalake",
            DataLakeArgs(
                placement=place,
                account_name=args.data_lake_name,
                sku=config.data_lake_sku,
                subnet_id=args.subnet_id,
                container_name=names.DATA_CONTAINER,
                # The uploaders' networks (uploaderIpRanges): with the principals below, who may
                # put bags in raw/.
                ip_rules=[storage_ip_rule(r) for r in config.uploader_ip_ranges],
                protect=config.protect_data_lake,
            ),
            moved_under(self),
        )
        self.batch_storage = BatchStorage(
            "batchstorage",
            BatchStorageArgs(
                placement=place,
                account_name=args.batch_storage_name,
                task_logs_container=names.TASK_LOGS_CONTAINER,
                adf_jobs_container=names.ADF_JOBS_CONTAINER,
                samples_container=names.SAMPLES_CONTAINER,
            ),
            moved_under(self),
        )
        self.uploaders = [
            self._uploader(entry, args.subscription_id) for entry in config.uploader_principals
        ]
        self.register_outputs(
            {
                "data_lake_account_name": self.lake.account_name,
                "batch_storage_blob_endpoint": self.batch_storage.blob_endpoint,
            }
        )

    def _uploader(self, entry: str, subscription_id: pulumi.Input[str]) -> AccessGrants:
        """An uploaderPrincipals entry (`<type>:<object id>`): blob write on the data container."""
        kind, object_id = uploader_principal(entry)
        return AccessGrants(
            f"uploader-{object_id}",
            AccessGrantsArgs(
                principal_id=object_id,
                principal_type=authorization.PrincipalType(kind),
                subscription_id=subscription_id,
                grants=[
                    Grant(
                        "lake-write",
                        "Storage Blob Data Contributor",
                        self.lake.container_id,
                        "Uploads bags to raw/ and reads the extracted tables",
                    )
                ],
            ),
            moved_under(self),
        )
