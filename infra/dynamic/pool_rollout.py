"""Brings a new orchestrator package version to the orchestrator pool's running nodes.

Batch installs a pool's application packages when a node joins the pool, reboots or is reimaged;
changing the pool's package reference does not touch nodes already running (AZURE-CHECKLIST §4),
and the ADF command names the new version explicitly, so an old node would fail to find it. After
the pool's reference changes, this resource asks every idle or running node to reboot with
`taskcompletion`: a node takes no new tasks, lets its running orchestrators finish, then restarts
with the new version. Nothing waits for that (an orchestrator may run for hours); tasks that ADF
submits meanwhile queue for a node that has restarted, or for a new node.

Calls go to the Batch account's data plane with a Microsoft Entra token (DefaultAzureCredential;
the deployer needs a role that can manage nodes, such as Contributor or Azure Batch Account
Contributor on the account).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from infra.dynamic._azure import progress, text
from infra.dynamic._props import changed_keys, inputs_of

PROVIDER_VERSION = "1"
ROLLOUT_KEYS = ("provider_version", "batch_account_endpoint", "pool_id", "package_version")
# Batch accepts a reboot only from these states; other nodes are starting, leaving or broken and
# will install the pool's current packages when they (re)start anyway.
REBOOTABLE_STATES = frozenset({"idle", "running"})
# The data-plane API version of azure-batch 15.1 (its client's default).
BATCH_API_VERSION = "2025-06-01"


def _roll_out(props: dict[str, Any]) -> list[str]:
    """Ask every rebootable node of the pool to restart after its tasks; return their ids."""
    from azure.batch import BatchClient
    from azure.core.exceptions import (
        HttpResponseError,
        ResourceExistsError,
        ResourceNotFoundError,
    )
    from azure.core.rest import HttpRequest
    from azure.identity import DefaultAzureCredential

    pool_id = props["pool_id"]
    rebooted: list[str] = []
    with (
        DefaultAzureCredential() as credential,
        BatchClient(props["batch_account_endpoint"], credential) as client,
    ):
        try:
            nodes = [n for n in client.list_nodes(pool_id) if text(n.state) in REBOOTABLE_STATES]
        except ResourceNotFoundError:
            return []  # a pool that does not exist yet has no nodes to update
        for node in nodes:
            # The SDK's begin_reboot_node polls until the node is back, which with
            # `taskcompletion` can take as long as the longest running task: send the request
            # through the client's pipeline (auth, retries) and move on.
            request = HttpRequest(
                "POST",
                f"/pools/{pool_id}/nodes/{node.id}/reboot",
                params={"api-version": BATCH_API_VERSION},
                json={"nodeRebootOption": "taskcompletion"},
            )
            try:
                client.send_request(request).raise_for_status()
            except ResourceExistsError:
                continue  # 409: the node changed state meanwhile (rebooting, leaving, ...)
            except HttpResponseError as error:
                raise RuntimeError(
                    f"could not ask node {node.id} of pool {pool_id} to restart with orchestrator "
                    f"{props['package_version']}: {error}. The package is published; the node "
                    "will pick it up when it restarts (reboot it, or run `pulumi up` again)."
                ) from error
            rebooted.append(str(node.id))
    progress(
        f"pool {pool_id}: {len(rebooted)} node(s) restart after their running tasks to load "
        f"orchestrator {props['package_version']}"
    )
    return rebooted


class PoolRolloutProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        # Also on create: the resource may be added to a stack whose pool already has nodes.
        outs = {**inputs_of(props), "restarted_nodes": _roll_out(props)}
        return CreateResult(id_=f"{props['pool_id']}-rollout", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = changed_keys(olds, news, ROLLOUT_KEYS)
        return DiffResult(changes=bool(changes), replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs={**inputs_of(news), "restarted_nodes": _roll_out(news)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        pass  # nothing to undo: the nodes simply run whatever the pool references


@dataclass
class PoolRolloutArgs:
    batch_account_endpoint: pulumi.Input[str]  # https://<account>.<region>.batch.azure.com
    # Pass the orchestrator pool resource's own id/name output, so this runs after the pool's
    # package reference changed.
    pool_id: pulumi.Input[str]
    package_version: pulumi.Input[str]


def rollout_props(args: PoolRolloutArgs) -> dict[str, Any]:
    """The property bag a PoolRollout hands its provider (outputs seeded to None)."""
    return {
        "provider_version": PROVIDER_VERSION,
        "batch_account_endpoint": args.batch_account_endpoint,
        "pool_id": args.pool_id,
        "package_version": args.package_version,
        "restarted_nodes": None,
    }


class PoolRollout(Resource, module="rosbag", name="PoolRollout"):
    """Restarts the pool's nodes (after their tasks) whenever `package_version` changes."""

    restarted_nodes: pulumi.Output[list[str]]

    def __init__(
        self, name: str, args: PoolRolloutArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(PoolRolloutProvider(), name, rollout_props(args), opts)
