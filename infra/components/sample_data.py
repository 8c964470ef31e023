"""The sample bag in the data lake's raw/ after `pulumi up`, with no shared key and no firewall
opening: a Copy pipeline in the factory moves it from the Batch storage account into the data
lake with the factory's managed identity, and a dynamic resource uploads it there and runs the
pipeline once (infra/dynamic/sample_seed.py).

Why a pipeline: the data lake takes no shared keys and admits only the pools' subnet and trusted
Azure services (NFS 3.0 needs the default action Deny), while azure-native's `storage.Blob` would
upload from the deployer's machine with the account key (pulumi-azure-native#2015). ADF's Azure
integration runtime reaches a storage account behind its firewall through "Allow trusted Microsoft
services" when it authenticates with a managed identity (docs/azure-behaviour.md, "Storage").

The factory and its linked services belong to infra/components/data_factory.py and
adf_linked_services.py; they are named here through the args, so this component adds datasets
and a pipeline beside them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_azure_native import datafactory as adf

from infra.dynamic.sample_seed import SampleSeed, SampleSeedArgs
from infra.placement import Placement

PIPELINE_NAME = "seed-sample"
SOURCE_DATASET = "sample-source"
DESTINATION_DATASET = "sample-destination"


@dataclass
class SampleDataArgs:
    subscription_id: pulumi.Input[str]
    placement: Placement
    factory_name: pulumi.Input[str]
    staging_linked_service: str  # the factory's Azure Blob linked service (Batch storage)
    data_lake_linked_service: str  # the factory's ADLS Gen2 linked service
    staging_blob_endpoint: pulumi.Input[str]  # https://<batch storage>.blob.core.windows.net/
    samples_container: str
    data_lake_account_name: pulumi.Input[str]
    data_container: str
    raw_path: str  # "raw/"
    sample: Path  # the bag in this checkout
    # What the copy needs first: the factory with its linked services, the factory identities'
    # roles on both containers, and the deployer's role on Batch storage (the upload).
    depends_on: Sequence[pulumi.Resource] = ()


def _dataset_ref(name: str) -> adf.DatasetReferenceArgs:
    return adf.DatasetReferenceArgs(
        reference_name=name, type=adf.DatasetReferenceType.DATASET_REFERENCE
    )


def _linked_service(name: str) -> adf.LinkedServiceReferenceArgs:
    return adf.LinkedServiceReferenceArgs(
        reference_name=name, type=adf.Type.LINKED_SERVICE_REFERENCE
    )


# The seed pipeline's one activity: Binary in, Binary out. It retries because it runs seconds
# after the factory's system-assigned identity (new on every fresh stack) gets its role on the
# lake, and "it can sometimes take up to 30 minutes for changes to take effect when you assign
# roles" (learn.microsoft.com/azure/role-based-access-control/troubleshooting): 5 x 5 minutes,
# inside the seed's wait (infra/dynamic/sample_seed.py, timeout_seconds).
COPY_SAMPLE = adf.CopyActivityArgs(
    name="copy-sample",
    type="Copy",
    policy=adf.ActivityPolicyArgs(retry=5, retry_interval_in_seconds=300),
    inputs=[_dataset_ref(SOURCE_DATASET)],
    outputs=[_dataset_ref(DESTINATION_DATASET)],
    source=adf.BinarySourceArgs(
        type="BinarySource",
        store_settings=adf.AzureBlobStorageReadSettingsArgs(type="AzureBlobStorageReadSettings"),
    ),
    sink=adf.BinarySinkArgs(
        type="BinarySink",
        store_settings=adf.AzureBlobFSWriteSettingsArgs(type="AzureBlobFSWriteSettings"),
    ),
)


class SampleData(pulumi.ComponentResource):
    pipeline_name: pulumi.Output[str]
    destination: pulumi.Output[str]  # <data lake>/<container>/raw/<bag>

    def __init__(
        self, name: str, args: SampleDataArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:sample:SampleData", name, None, opts)
        self._args = args
        bag = args.sample.name
        folder = args.raw_path.strip("/")

        source = self._dataset(
            f"{name}-source",
            SOURCE_DATASET,
            args.staging_linked_service,
            adf.AzureBlobStorageLocationArgs(
                type="AzureBlobStorageLocation", container=args.samples_container, file_name=bag
            ),
        )
        destination = self._dataset(
            f"{name}-destination",
            DESTINATION_DATASET,
            args.data_lake_linked_service,
            adf.AzureBlobFSLocationArgs(
                type="AzureBlobFSLocation",
                file_system=args.data_container,
                folder_path=folder,
                file_name=bag,
            ),
        )
        pipeline = adf.Pipeline(
            f"{name}-pipeline",
            resource_group_name=args.placement.resource_group_name,
            factory_name=args.factory_name,
            pipeline_name=PIPELINE_NAME,
            description=f"Copies the sample bag into {args.raw_path} (run once by pulumi up).",
            activities=[COPY_SAMPLE],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[source, destination]),
        )
        target = pulumi.Output.concat(
            args.data_lake_account_name, "/", args.data_container, "/", folder, "/", bag
        )
        seed = SampleSeed(
            f"{name}-seed",
            SampleSeedArgs(
                subscription_id=args.subscription_id,
                resource_group_name=args.placement.resource_group_name,
                factory_name=args.factory_name,
                pipeline_name=pipeline.name,
                staging_blob_url=pulumi.Output.concat(
                    args.staging_blob_endpoint, args.samples_container, "/", bag
                ),
                destination=target,
                source_path=str(args.sample),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pipeline, *args.depends_on]),
        )
        self.pipeline_name = pipeline.name
        self.destination = seed.destination
        self.register_outputs(
            {"pipeline_name": self.pipeline_name, "destination": self.destination}
        )

    def _dataset(
        self,
        name: str,
        dataset_name: str,
        linked_service: str,
        location: adf.AzureBlobStorageLocationArgs | adf.AzureBlobFSLocationArgs,
    ) -> adf.Dataset:
        """A Binary dataset: the file byte for byte, no parsing and no schema."""
        args = self._args
        return adf.Dataset(
            name,
            resource_group_name=args.placement.resource_group_name,
            factory_name=args.factory_name,
            dataset_name=dataset_name,
            properties=adf.BinaryDatasetArgs(
                type="Binary",
                linked_service_name=_linked_service(linked_service),
                location=location,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
