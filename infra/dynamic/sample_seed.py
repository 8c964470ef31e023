"""Put the sample bag into the data lake's raw/ without a shared key and without opening the
data lake's firewall.

The data lake admits only the pools' subnet and trusted Azure services, and takes no shared keys
(NFS 3.0 needs the default action Deny; azure-native's `storage.Blob` uploads with the account key,
pulumi-azure-native#2015). So the deployer never writes to it. Instead, at `pulumi up`:

1. the bag goes to the `samples` container of the Batch storage account (public endpoint, Entra ID:
   the deployer holds Storage Blob Data Contributor there for the orchestrator package anyway);
2. a run of the factory's `seed-sample` pipeline is started: a Copy activity that reads that blob
   and writes `raw/<bag>` into the data lake with the factory's managed identity, through the
   firewall's trusted-services bypass (infra/components/sample_data.py);
3. the run is followed to its end; a failed run fails the deployment with ADF's message.

It runs again only when the bag's content (or where it goes) changes. Delete leaves the bag in the
data lake: it is data, and may have been extracted since.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from infra.dynamic._azure import management_client, progress, text, upload_file, wait_for
from infra.dynamic._props import changed_keys, inputs_of

if TYPE_CHECKING:
    from azure.mgmt.datafactory import DataFactoryManagementClient

PROVIDER_VERSION = "1"

# A change to any of these means the copy must run (again).
SEED_KEYS = (
    "provider_version",
    "content_sha256",
    "subscription_id",
    "resource_group_name",
    "factory_name",
    "pipeline_name",
    "staging_blob_url",
    "destination",
)
SETTING_KEYS = ("source_path", "timeout_seconds", "poll_interval_seconds")
# "Possible values: Queued, InProgress, Succeeded, Failed, Canceling, Cancelled"
# (azure-mgmt-datafactory models/_models.py:46053, PipelineRun.status).
FINISHED = frozenset({"Succeeded", "Failed", "Cancelled"})


class SeedFailedError(RuntimeError):
    """The seed pipeline run did not succeed; the message carries ADF's reason."""


@dataclass(frozen=True)
class _Factory:
    subscription_id: str
    resource_group: str
    name: str

    @classmethod
    def of(cls, props: dict[str, Any]) -> _Factory:
        return cls(props["subscription_id"], props["resource_group_name"], props["factory_name"])

    @contextmanager
    def client(self) -> Iterator[DataFactoryManagementClient]:
        from azure.mgmt.datafactory import DataFactoryManagementClient

        with management_client(DataFactoryManagementClient, self.subscription_id) as client:
            yield client


def _seed(props: dict[str, Any]) -> dict[str, Any]:
    source = Path(props["source_path"])
    content = hashlib.sha256(source.read_bytes()).hexdigest()
    if content != props["content_sha256"]:
        raise RuntimeError(f"{source} changed while the deployment was running: run it again")
    progress(f"uploading the sample bag {source.name} to {props['staging_blob_url']}")
    upload_file(props["staging_blob_url"], source)

    factory = _Factory.of(props)
    pipeline = props["pipeline_name"]
    with factory.client() as client:
        run_id = str(
            client.pipelines.create_run(factory.resource_group, factory.name, pipeline).run_id
        )
        progress(f"ADF run {run_id} of {pipeline} copies it to {props['destination']}")
        seen = ""

        def finished() -> bool:
            nonlocal seen
            run = client.pipeline_runs.get(factory.resource_group, factory.name, run_id)
            status = text(run.status) if run.status else "Queued"
            if status != seen:
                seen = status
                progress(f"ADF run {run_id}: {status}")
            if status in FINISHED and status != "Succeeded":
                raise SeedFailedError(
                    f"ADF run {run_id} of {pipeline} in {factory.name} ended {status}: "
                    f"{run.message or 'no message'}. The sample bag is not in "
                    f"{props['destination']}; fix the cause and run `pulumi up` again, or set "
                    "rosbag-batch:uploadSampleBag to false"
                )
            return status == "Succeeded"

        wait_for(
            f"ADF run {run_id} of {pipeline}",
            finished,
            timeout_seconds=float(props["timeout_seconds"]),
            interval_seconds=float(props["poll_interval_seconds"]),
        )
    progress(f"the sample bag is in {props['destination']}")
    return {**inputs_of(props), "run_id": run_id}


class SampleSeedProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = _seed(props)
        return CreateResult(id_=f"{props['factory_name']}/{props['destination']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = changed_keys(olds, news, SEED_KEYS + SETTING_KEYS)
        return DiffResult(changes=bool(changes), replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if changed_keys(olds, news, SEED_KEYS):
            return UpdateResult(outs=_seed(news))
        return UpdateResult(outs={**inputs_of(news), "run_id": olds.get("run_id")})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        # Data, not infrastructure: the bag stays (and the data lake may be protected).
        progress(f"leaving the sample bag in {props.get('destination')}")


@dataclass
class SampleSeedArgs:
    subscription_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    factory_name: pulumi.Input[str]
    pipeline_name: pulumi.Input[str]
    # Where the deployer uploads the bag for the pipeline to read (Batch storage, `samples`).
    staging_blob_url: pulumi.Input[str]
    destination: pulumi.Input[str]  # what the pipeline writes: <data lake>/<container>/raw/<bag>
    source_path: str  # the bag in this checkout
    timeout_seconds: int = 2400  # the copy's retries (sample_data.COPY_SAMPLE) and its runs
    poll_interval_seconds: float = 10.0


def seed_props(args: SampleSeedArgs) -> dict[str, Any]:
    """The property bag a SampleSeed hands its provider (outputs seeded to None)."""
    source = Path(args.source_path).resolve()
    if not source.is_file():
        raise FileNotFoundError(f"{source} not found: the sample bag ships with this repository")
    return {
        "provider_version": PROVIDER_VERSION,
        "source_path": str(source),
        "content_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "subscription_id": args.subscription_id,
        "resource_group_name": args.resource_group_name,
        "factory_name": args.factory_name,
        "pipeline_name": args.pipeline_name,
        "staging_blob_url": args.staging_blob_url,
        "destination": args.destination,
        "timeout_seconds": args.timeout_seconds,
        "poll_interval_seconds": args.poll_interval_seconds,
        "run_id": None,
    }


class SampleSeed(Resource, module="rosbag", name="SampleSeed"):
    """The sample bag copied into the data lake by one run of the seed pipeline."""

    run_id: pulumi.Output[str]
    destination: pulumi.Output[str]

    def __init__(
        self, name: str, args: SampleSeedArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(SampleSeedProvider(), name, seed_props(args), opts)
