"""Storage event triggers: run the pipeline for each bag the moment it lands under raw/.

One BlobEventsTrigger per suffix (`.bag`, `.mcap`, `.db3`, and `/metadata.yaml` for ROS 2
folders): a trigger takes one `blobPathBeginsWith` and one `blobPathEndsWith`, matched on the
blob's path, and no other pattern (learn.microsoft.com/azure/data-factory/
how-to-create-event-trigger, "JSON schema"). Each run gets the blob in `bagPath`
(`@triggerBody().folderPath`, which starts with the container, and `fileName`), and the
orchestrator takes only that bag, writing its output where a sweep of raw/ puts it
(docs/orchestrator.md "Exactly once"): an unchanged bag is never extracted twice, however many
events (or scheduled sweeps) name it.

Prerequisites, both checked by Azure when the trigger starts (README "Prerequisites"):
- the subscription is registered with the Microsoft.EventGrid resource provider;
- whoever starts the trigger (the deployer, through TriggerState) may create the Event Grid
  subscription on the storage account: Owner, Contributor, or
  Microsoft.EventGrid/EventSubscriptions/Write there. The factory's own identity needs no
  permission for it (same page, "Role-based access control").
Events come from Blob and Data Lake API writes (uploads, azcopy, Storage Explorer); writes
through the NFS mount raise none (learn.microsoft.com/azure/storage/blobs/
network-file-system-protocol-known-issues, "Blob Storage events"): the schedule's sweep catches
those.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import datafactory as adf

from infra.components.adf_pipeline import PIPELINE_NAME, default_parameters
from infra.dynamic.trigger_state import TriggerState, TriggerStateArgs

if TYPE_CHECKING:
    from infra.components.data_factory import DataFactoryArgs

# Storage files of ROS 1 and ROS 2 bags, and the file that completes a ROS 2 folder.
EVENT_SUFFIXES = {"bag": ".bag", "mcap": ".mcap", "db3": ".db3", "metadata": "/metadata.yaml"}
TRIGGER_PREFIX = "extract-bags-on-"
# `<container>/<folders>/<file>`: the orchestrator drops the container (orchestrator/cli.py).
BAG_PATH_EXPRESSION = "@concat(triggerBody().folderPath, '/', triggerBody().fileName)"


def begins_with(container: str, raw_path: str) -> str:
    """`/<container>/blobs/<raw>/`: the `/blobs/` segment separates container and folder."""
    return f"/{container}/blobs/{raw_path.strip('/')}/"


def declare_event_triggers(
    name: str,
    args: DataFactoryArgs,
    factory_name: pulumi.Output[str],
    pipeline_name: pulumi.Input[str],
    parent: pulumi.Resource,
) -> list[adf.Trigger]:
    triggers = []
    prefix = begins_with(args.data_lake_container, args.default_input_path)
    for kind, suffix in EVENT_SUFFIXES.items():
        trigger = adf.Trigger(
            f"{name}-on-{kind}",
            resource_group_name=args.resource_group_name,
            factory_name=factory_name,
            trigger_name=f"{TRIGGER_PREFIX}{kind}",
            properties=_event_trigger(args, prefix, suffix, pipeline_name),
            # As the schedule (adf_schedule.py): ADF refuses to update a started trigger, so a
            # change replaces it, deleting first (its TriggerState stops it before).
            opts=pulumi.ResourceOptions(
                parent=parent, replace_on_changes=["*"], delete_before_replace=True
            ),
        )
        TriggerState(
            f"event-state-{kind}",
            TriggerStateArgs(
                subscription_id=args.subscription_id,
                resource_group_name=args.resource_group_name,
                factory_name=factory_name,
                trigger_name=trigger.name,
                enabled=True,
                revision=hashlib.sha256(f"{prefix}\0{suffix}".encode()).hexdigest()[:16],
            ),
            pulumi.ResourceOptions(parent=parent),
        )
        triggers.append(trigger)
    return triggers


def _event_trigger(
    args: DataFactoryArgs, prefix: str, suffix: str, pipeline_name: pulumi.Input[str]
) -> adf.BlobEventsTriggerArgs:
    return adf.BlobEventsTriggerArgs(
        type="BlobEventsTrigger",
        description=f"Runs {PIPELINE_NAME} for each blob created under {prefix} ending {suffix}.",
        scope=args.data_lake_account_id,
        events=[adf.BlobEventTypes.MICROSOFT_STORAGE_BLOB_CREATED],
        blob_path_begins_with=prefix,
        blob_path_ends_with=suffix,
        # A zero-byte blob is no bag (and HNS folders created by the API are no blobs at all).
        ignore_empty_blobs=True,
        pipelines=[
            adf.TriggerPipelineReferenceArgs(
                pipeline_reference=adf.PipelineReferenceArgs(
                    reference_name=pipeline_name,
                    type=adf.PipelineReferenceType.PIPELINE_REFERENCE,
                ),
                parameters={**default_parameters(args), "bagPath": BAG_PATH_EXPRESSION},
            )
        ],
    )
