"""The Batch account and its two pools.

Account: BatchService allocation, its own identity, auto-storage reached with that identity
(`BatchAccountManagedIdentity`) and, from nodes, with the orchestrator's identity (the node
identity reference), Entra ID and task tokens only (no shared keys).

Pools (both in the subnet, no public IPs, simplified node communication, each with its own
identity, the data lake NFS-mounted at `$AZ_BATCH_NODE_MOUNTS_DIR/data`, autoscale to zero):
- orchestrator: Ubuntu 24.04 VM image, the `orchestrator` application package at an explicit
  version; its start task prepares the mount and runs the package's self-check (the package is
  self-contained, so nothing is pip-installed into Ubuntu's externally managed Python).
- execution: a DockerCompatible image that pulls and prefetches the processor image from ACR
  with the identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import batch

from infra import names, node_commands
from infra.config import PoolSizing
from infra.placement import Placement

# Every change replaces a pool, deleting the old one first (pool ids are fixed). azure-native
# updates a pool by sending its whole body, and Batch refuses any update that carries a
# networkConfiguration, changed or not ("PropertyCannotBeUpdated": Azure/Batch#153,
# Azure/terraform-provider-azapi#263); most other fields "can be updated only when the pool is
# empty" anyway (azure-batch models/_models.py:6094, BatchPoolUpdateOptions), and application
# packages and identities reach only nodes that join later. Both pools scale to zero when idle,
# so a replacement costs nothing but the next run's node start; a run in flight is killed with
# its node, and ADF's retry resumes its Batch job (docs/infrastructure.md, "Pools").
POOL_REPLACE_ON = ["*"]

ORCHESTRATOR_IMAGE = batch.ImageReferenceArgs(
    publisher="canonical", offer="ubuntu-24_04-lts", sku="server", version="latest"
)
# DockerCompatible, supported image (the ubuntu-server-container 20.04 image was retired).
EXECUTION_IMAGE = batch.ImageReferenceArgs(
    publisher="microsoft-dsvm", offer="ubuntu-hpc", sku="2404", version="latest"
)
NODE_AGENT = "batch.node.ubuntu 24.04"
# NLM locking and UDP are unsupported on Blob NFS; sec=sys is the only security flavour.
# The "-o" prefix follows Batch's Azure Files and CIFS mount examples
# (learn.microsoft.com/azure/batch/virtual-file-mount; UNCONFIRMED for NFS:
# docs/azure-behaviour.md, "Unconfirmed").
NFS_MOUNT_OPTIONS = "-o sec=sys,vers=3,nolock,proto=tcp"
# Start tasks run as admin: chmod of the NFS root needs root (node_commands.prepare_mount_command).
START_TASK_USER = batch.UserIdentityArgs(
    auto_user=batch.AutoUserSpecificationArgs(
        scope=batch.AutoUserScope.POOL, elevation_level=batch.ElevationLevel.ADMIN
    )
)


def nfs_mount(source: pulumi.Input[str]) -> batch.MountConfigurationArgs:
    """The data container, mounted at $AZ_BATCH_NODE_MOUNTS_DIR/<MOUNT_PATH> on every node."""
    return batch.MountConfigurationArgs(
        nfs_mount_configuration=batch.NFSMountConfigurationArgs(
            source=source, relative_mount_path=names.MOUNT_PATH, mount_options=NFS_MOUNT_OPTIONS
        )
    )


def autoscale_formula(max_nodes: int, task_slots_per_node: int, max_spot_nodes: int = 0) -> str:
    """Nodes for the pending (active + running) tasks, capped; zero when there is no work.

    Short sample windows make the pool react to a pipeline run within one evaluation; nodes are
    released only when their tasks complete (taskcompletion), so running work is never cut.
    Adding slots-1 before dividing makes a truncated quotient the ceiling (how Batch rounds a
    fractional target is UNCONFIRMED, docs/azure-behaviour.md "Unconfirmed"; at worst one node
    more than needed, never one fewer).

    With Spot nodes (`max_spot_nodes` > 0) the work goes to Spot first, up to that many; the
    rest, and as many Spot nodes as are wanted but not there and running (never allocated:
    Spot quota 0, no Spot capacity; not yet allocated; preempted), go to dedicated nodes, up to
    `max_nodes`. So a pool whose Spot nodes never arrive still gets dedicated nodes, and a
    preempted node's requeued tasks (docs/azure-behaviour.md) find a dedicated node. The cost: a
    scale-up may start dedicated nodes while Spot ones are still being allocated; they leave
    when their tasks complete (taskcompletion) once the Spot nodes are there.
    `$CurrentLowPriorityNodes` counts the pool's Spot nodes including preempted ones, and
    `$PreemptedNodeCount` the preempted ones (learn.microsoft.com/azure/batch/
    batch-automatic-scaling, "Variables" and the "Preempted nodes" sample). Without Spot the
    formula is the dedicated-only one, unchanged.
    """
    lines = [
        "$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 5);",
        "$pending = $samples < 70 ? max(0, $PendingTasks.GetSample(1)) : max("
        "$PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 5)));",
        f"$wanted = ($pending + {task_slots_per_node - 1}) / {task_slots_per_node};",
    ]
    if max_spot_nodes <= 0:
        lines += [
            f"$TargetDedicatedNodes = max(0, min({max_nodes}, $wanted));",
            "$TargetLowPriorityNodes = 0;",
        ]
    else:
        lines += [
            f"$spot = max(0, min({max_spot_nodes}, $wanted));",
            "$preempted = max(0, $PreemptedNodeCount.GetSample(1));",
            "$present = max(0, $CurrentLowPriorityNodes - $preempted);",
            "$TargetLowPriorityNodes = $spot;",
            f"$TargetDedicatedNodes = max(0, min({max_nodes}, "
            "$wanted - $spot + max(0, $spot - $present)));",
        ]
    return "\n".join([*lines, "$NodeDeallocationOption = taskcompletion;"])


@dataclass
class BatchAccountArgs:
    placement: Placement
    account_name: pulumi.Input[str]
    identity_id: pulumi.Input[str]  # the account's own identity: it manages auto-storage
    # The identity nodes use to reach auto-storage (application packages). "The identity
    # referenced here must be assigned to pools which have compute nodes that need access to
    # auto-storage" (pulumi_azure_native/batch/_inputs.py:255): the orchestrator pool's.
    node_identity_id: pulumi.Input[str]
    auto_storage_account_id: pulumi.Input[str]
    # Batch checks auto-storage access with the identity when the account is created, so the
    # role assignment must exist first (a component's own depends_on doesn't reach its children).
    depends_on: Sequence[pulumi.Resource] = ()


class BatchAccount(pulumi.ComponentResource):
    resource: batch.BatchAccount  # for `replace_with`: what lives in it goes with it
    id: pulumi.Output[str]
    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]  # https://<account>.<region>.batch.azure.com

    def __init__(
        self, name: str, args: BatchAccountArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:batch:BatchAccount", name, None, opts)
        account = batch.BatchAccount(
            f"{name}-account",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            account_name=args.account_name,
            pool_allocation_mode=batch.PoolAllocationMode.BATCH_SERVICE,
            identity=batch.BatchAccountIdentityArgs(
                type=batch.ResourceIdentityType.USER_ASSIGNED,
                user_assigned_identities=[args.identity_id],
            ),
            auto_storage=batch.AutoStorageBasePropertiesArgs(
                storage_account_id=args.auto_storage_account_id,
                authentication_mode=batch.AutoStorageAuthenticationMode.BATCH_ACCOUNT_MANAGED_IDENTITY,
                node_identity_reference=batch.ComputeNodeIdentityReferenceArgs(
                    resource_id=args.node_identity_id
                ),
            ),
            # Entra ID for every caller (ADF, the orchestrator, ops); task tokens for tasks.
            allowed_authentication_modes=[
                batch.AuthenticationMode.AAD,
                batch.AuthenticationMode.TASK_AUTHENTICATION_TOKEN,
            ],
            # ADF's Azure IR reaches the account over its public endpoint.
            public_network_access=batch.PublicNetworkAccessType.ENABLED,
            tags=dict(args.placement.tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.resource = account
        self.id = account.id
        self.name = account.name
        self.endpoint = account.account_endpoint.apply(lambda host: f"https://{host}")
        self.register_outputs({"id": self.id, "name": self.name, "endpoint": self.endpoint})


@dataclass
class BatchPoolsArgs:
    placement: Placement
    account_name: pulumi.Input[str]
    account_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    # Each pool carries only its own identity: any task on a node can get its token.
    orchestrator_identity_id: pulumi.Input[str]
    orchestrator_identity_client_id: pulumi.Input[str]
    execution_identity_id: pulumi.Input[str]
    nfs_source: pulumi.Input[str]
    registry_server: pulumi.Input[str]
    processor_image: pulumi.Input[str]
    orchestrator_package_version: pulumi.Input[str]
    key_vault_uri: pulumi.Input[str]
    app_insights_secret_name: pulumi.Input[str]
    orchestrator: PoolSizing
    execution: PoolSizing
    # Resources the pools need first (role assignments, the activated application package).
    depends_on: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class PoolSpec:
    """What one pool has that the other does not; `BatchPools._pool` adds what both share."""

    pool_id: str
    display_name: str
    sizing: PoolSizing
    identity_id: pulumi.Input[str]
    image: batch.ImageReferenceArgs
    start_command: pulumi.Input[str]
    start_environment: Sequence[batch.EnvironmentSettingArgs] | None = None
    container: batch.ContainerConfigurationArgs | None = None
    application_packages: Sequence[batch.ApplicationPackageReferenceArgs] | None = None
    scheduling: batch.TaskSchedulingPolicyArgs | None = None


class BatchPools(pulumi.ComponentResource):
    orchestrator_pool_id: pulumi.Output[str]
    execution_pool_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: BatchPoolsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:batch:BatchPools", name, None, opts)
        self._args = args
        orchestrator = self._pool(f"{name}-orchestrator", orchestrator_pool(args))
        execution = self._pool(f"{name}-execution", execution_pool(args))
        self.orchestrator_pool_id = orchestrator.name
        self.execution_pool_id = execution.name
        self.register_outputs(
            {
                "orchestrator_pool_id": self.orchestrator_pool_id,
                "execution_pool_id": self.execution_pool_id,
            }
        )

    def _pool(self, name: str, spec: PoolSpec) -> batch.Pool:
        """A pool in the subnet with no public IPs, simplified node communication, its own
        identity, the data lake NFS-mounted, a start task as admin, autoscale to zero."""
        args = self._args
        return batch.Pool(
            name,
            pool_name=spec.pool_id,
            display_name=spec.display_name,
            vm_size=spec.sizing.vm_size,
            task_slots_per_node=spec.sizing.task_slots_per_node,
            task_scheduling_policy=spec.scheduling,
            deployment_configuration=batch.DeploymentConfigurationArgs(
                virtual_machine_configuration=batch.VirtualMachineConfigurationArgs(
                    image_reference=spec.image,
                    node_agent_sku_id=NODE_AGENT,
                    container_configuration=spec.container,
                )
            ),
            application_packages=spec.application_packages,
            start_task=batch.StartTaskArgs(
                command_line=spec.start_command,
                user_identity=START_TASK_USER,
                wait_for_success=True,  # a node whose start task fails never gets work
                max_task_retry_count=2,
                environment_settings=spec.start_environment,
            ),
            scale_settings=_autoscale(spec.sizing),
            resource_group_name=args.placement.resource_group_name,
            account_name=args.account_name,
            identity=batch.BatchPoolIdentityArgs(
                type=batch.PoolIdentityType.USER_ASSIGNED,
                user_assigned_identities=[spec.identity_id],
            ),
            network_configuration=batch.NetworkConfigurationArgs(
                subnet_id=args.subnet_id,
                public_ip_address_configuration=batch.PublicIPAddressConfigurationArgs(
                    provision=batch.IPAddressProvisioningType.NO_PUBLIC_IP_ADDRESSES
                ),
            ),
            target_node_communication_mode=batch.NodeCommunicationMode.SIMPLIFIED,
            mount_configuration=[nfs_mount(args.nfs_source)],
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(args.depends_on),
                replace_on_changes=POOL_REPLACE_ON,
                delete_before_replace=True,
            ),
        )


def orchestrator_pool(args: BatchPoolsArgs) -> PoolSpec:
    """The orchestrator pool: the package at an explicit version, whose self-check the start
    task runs (a node that fails it never gets work), and the settings telemetry needs."""
    version = args.orchestrator_package_version
    self_check = pulumi.Output.from_input(version).apply(
        lambda v: node_commands.start_task_command(
            names.MOUNT_PATH,
            then=node_commands.orchestrator_command(names.ORCHESTRATOR_APP_ID, v, "self-check"),
        )
    )
    return PoolSpec(
        pool_id=names.ORCHESTRATOR_POOL_ID,
        display_name="rosbag orchestrator (ADF Custom activity)",
        sizing=args.orchestrator,
        identity_id=args.orchestrator_identity_id,
        image=ORCHESTRATOR_IMAGE,
        start_command=self_check,
        start_environment=[
            batch.EnvironmentSettingArgs(
                name="AZURE_CLIENT_ID", value=args.orchestrator_identity_client_id
            ),
            batch.EnvironmentSettingArgs(name="KEY_VAULT_URI", value=args.key_vault_uri),
            batch.EnvironmentSettingArgs(
                name="APPINSIGHTS_SECRET_NAME", value=args.app_insights_secret_name
            ),
        ],
        application_packages=[
            batch.ApplicationPackageReferenceArgs(
                id=pulumi.Output.concat(
                    args.account_id, "/applications/", names.ORCHESTRATOR_APP_ID
                ),
                version=version,
            )
        ],
        # Fill one node before starting another: orchestrator runs mostly wait.
        scheduling=batch.TaskSchedulingPolicyArgs(node_fill_type=batch.ComputeNodeFillType.PACK),
    )


def execution_pool(args: BatchPoolsArgs) -> PoolSpec:
    """The execution pool: Docker, with the processor image pulled by the pool's identity."""
    return PoolSpec(
        pool_id=names.EXECUTION_POOL_ID,
        display_name="rosbag processor containers",
        sizing=args.execution,
        identity_id=args.execution_identity_id,
        image=EXECUTION_IMAGE,
        start_command=node_commands.start_task_command(names.MOUNT_PATH),
        container=batch.ContainerConfigurationArgs(
            type=batch.ContainerType.DOCKER_COMPATIBLE,
            # Prefetched when a node joins, so the first task starts at once.
            container_image_names=[args.processor_image],
            container_registries=[
                batch.ContainerRegistryArgs(
                    registry_server=args.registry_server,
                    identity_reference=batch.ComputeNodeIdentityReferenceArgs(
                        resource_id=args.execution_identity_id
                    ),
                )
            ],
        ),
    )


def _autoscale(sizing: PoolSizing) -> batch.ScaleSettingsArgs:
    return batch.ScaleSettingsArgs(
        auto_scale=batch.AutoScaleSettingsArgs(
            formula=autoscale_formula(
                sizing.max_nodes, sizing.task_slots_per_node, sizing.max_spot_nodes
            ),
            evaluation_interval="PT5M",  # the shortest Batch allows
        )
    )
