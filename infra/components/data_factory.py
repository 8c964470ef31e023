"""Azure Data Factory: the factory, its managed-identity credential, linked services, and the
`extract-bags` pipeline whose Custom activity starts the orchestrator on the orchestrator pool.

Every linked service authenticates with a managed identity: the factory's user-assigned one
(through the credential), except the data lake's, which uses the factory's system-assigned one
because the lake's firewall admits ADF only through the trusted-services bypass, and that bypass
"cannot utilize user-assigned managed identities" (docs/azure-behaviour.md, "Storage"). No
access key, connection string or SAS is ever declared. The Custom activity ships no code (no
`resourceLinkedService`/`folderPath`): the orchestrator comes from the Batch application package
the orchestrator pool references, and the activity passes everything the orchestrator needs in
`extendedProperties` (docs/contracts.md §3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pulumi
from pulumi_azure_native import datafactory as adf

from infra.node_commands import orchestrator_command

PIPELINE_NAME = "extract-bags"
ACTIVITY_NAME = "run-orchestrator"
CHECK_ACTIVITY_NAME = "check-bags"
FAIL_ACTIVITY_NAME = "bags-failed"
FAIL_ERROR_CODE = "ExtractionFailed"
TRIGGER_NAME = "extract-bags-schedule"
# Names of the children inside the factory. They are scoped to the factory (which Pulumi
# auto-names), so pinning them cannot collide, and they read well in ADF Studio and in the
# linkedServices.json the activity receives.
CREDENTIAL_NAME = "factory-identity"
STAGING_LINKED_SERVICE = "staging-blob"
BATCH_LINKED_SERVICE = "orchestrator-batch"
KEY_VAULT_LINKED_SERVICE = "key-vault"
DATA_LAKE_LINKED_SERVICE = "data-lake"

PIPELINE_PARAMETERS = ("inputPath", "outputPath", "format")
OUTPUT_FORMATS = ("csv", "parquet")  # the processor's --format choices (contracts §2)
SCHEDULE_FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
# ADF activity policy limits (learn.microsoft.com/azure/data-factory/concepts-pipelines-activities).
MAX_ACTIVITY_TIMEOUT = timedelta(days=7)
MIN_RETRY_INTERVAL_SECONDS = 30
MAX_RETRY_INTERVAL_SECONDS = 86_400

_TIMEOUT_PATTERN = re.compile(r"(?:(\d+)\.)?([01]\d|2[0-3]):([0-5]\d):([0-5]\d)")


@dataclass(frozen=True)
class ScheduleArgs:
    """An optional schedule trigger for the pipeline (ADF creates triggers Stopped)."""

    frequency: str  # "Minute" | "Hour" | "Day" | "Week" | "Month"
    interval: int
    start_time: str  # ISO 8601: UTC ending in Z, or local time without an offset
    time_zone: str = "UTC"  # a Windows time zone id, as ADF expects
    # Pipeline parameters for scheduled runs (keys of PIPELINE_PARAMETERS); the ones left out
    # take the pipeline's defaults.
    parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass
class DataFactoryArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    # The factory's user-assigned identity: the factory carries it, and the credential every
    # linked service authenticates with is made of it. (The credential takes the resource id;
    # the client id is part of the interface the identity component provides.)
    factory_identity_id: pulumi.Input[str]
    factory_identity_client_id: pulumi.Input[str]
    # What the orchestrator authenticates with to Batch and Key Vault (extendedProperties
    # orchestratorIdentityClientId): the orchestrator pool's identity.
    orchestrator_identity_client_id: pulumi.Input[str]
    # What container tasks pull the image and upload their logs with (extendedProperties
    # executionIdentityResourceId): the execution pool's identity.
    execution_identity_id: pulumi.Input[str]
    batch_account_name: pulumi.Input[str]
    batch_account_endpoint: pulumi.Input[str]  # https://<account>.<region>.batch.azure.com
    orchestrator_pool_id: pulumi.Input[str]
    execution_pool_id: pulumi.Input[str]
    staging_blob_endpoint: pulumi.Input[str]  # https://<batch storage>.blob.core.windows.net/
    data_lake_dfs_endpoint: pulumi.Input[str]  # https://<data lake>.dfs.core.windows.net/
    key_vault_uri: pulumi.Input[str]
    app_insights_secret_name: pulumi.Input[str]
    registry_server: pulumi.Input[str]
    processor_image: pulumi.Input[str]
    orchestrator_package_version: pulumi.Input[str]
    task_logs_container_url: pulumi.Input[str]
    orchestrator_app_id: str = "orchestrator"
    # https://<data lake>.blob.core.windows.net/<container>: bags' source_url (contracts §3).
    data_lake_url: pulumi.Input[str] = ""
    mount_path: str = "data"
    default_input_path: str = "raw/"
    default_output_path: str = "extracted/"
    default_format: str = "csv"
    activity_timeout: str = "0.12:00:00"  # d.hh:mm:ss, ADF policy format
    activity_retries: int = 1
    orchestrator_timeout_minutes: int = 660  # below the activity timeout, so we report first
    schedule: ScheduleArgs | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    # Seconds ADF waits before retrying a failed activity. A retry is safe: the orchestrator
    # derives its Batch job id from the pipeline run id, so it finds the job instead of
    # duplicating it.
    activity_retry_interval_seconds: int = 120
    # Days ADF keeps the activity's runtime files and stdout/stderr in the staging account.
    activity_retention_days: int = 30


def parse_activity_timeout(value: str) -> timedelta:
    """The duration of an ADF policy timeout written `d.hh:mm:ss` (the day part is optional)."""
    match = _TIMEOUT_PATTERN.fullmatch(value)
    if match is None:
        raise ValueError(
            f"DataFactoryArgs.activity_timeout is {value!r}: expected d.hh:mm:ss, "
            "for example 0.12:00:00 for twelve hours"
        )
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def validate_args(args: DataFactoryArgs) -> None:
    """Reject settings ADF would refuse at deploy time, or that would fail every run."""
    timeout = parse_activity_timeout(args.activity_timeout)
    if not timedelta(0) < timeout <= MAX_ACTIVITY_TIMEOUT:
        raise ValueError(
            f"DataFactoryArgs.activity_timeout is {args.activity_timeout!r}: ADF accepts more "
            "than zero and at most 7.00:00:00"
        )
    if not 0 < args.orchestrator_timeout_minutes < timeout.total_seconds() / 60:
        raise ValueError(
            f"DataFactoryArgs.orchestrator_timeout_minutes is {args.orchestrator_timeout_minutes}:"
            f" it must be positive and below the activity timeout ({args.activity_timeout}), so "
            "the orchestrator terminates its job and reports before ADF kills the activity"
        )
    if args.activity_retries < 0:
        raise ValueError(
            f"DataFactoryArgs.activity_retries is {args.activity_retries}: expected 0 or more"
        )
    interval = args.activity_retry_interval_seconds
    if not MIN_RETRY_INTERVAL_SECONDS <= interval <= MAX_RETRY_INTERVAL_SECONDS:
        raise ValueError(
            f"DataFactoryArgs.activity_retry_interval_seconds is {interval}: ADF accepts "
            f"{MIN_RETRY_INTERVAL_SECONDS} to {MAX_RETRY_INTERVAL_SECONDS}"
        )
    if args.activity_retention_days < 1:
        raise ValueError(
            f"DataFactoryArgs.activity_retention_days is {args.activity_retention_days}: "
            "expected 1 or more"
        )
    _validate_parameters(
        "DataFactoryArgs",
        {
            "inputPath": args.default_input_path,
            "outputPath": args.default_output_path,
            "format": args.default_format,
        },
    )
    if args.schedule is not None:
        _validate_schedule(args.schedule)


def _validate_parameters(owner: str, parameters: Mapping[str, str]) -> None:
    for key, value in parameters.items():
        if key not in PIPELINE_PARAMETERS:
            raise ValueError(
                f"{owner}: unknown pipeline parameter {key!r}; "
                f"the pipeline takes {', '.join(PIPELINE_PARAMETERS)}"
            )
        if key == "format" and value not in OUTPUT_FORMATS:
            raise ValueError(
                f"{owner}: format is {value!r}: expected one of {', '.join(OUTPUT_FORMATS)}"
            )
        if key != "format" and (not value or value.startswith("/")):
            raise ValueError(
                f"{owner}: {key} is {value!r}: expected a folder relative to the data "
                "container's root, such as raw/ or extracted/"
            )


def _validate_schedule(schedule: ScheduleArgs) -> None:
    if schedule.frequency not in SCHEDULE_FREQUENCIES:
        raise ValueError(
            f"ScheduleArgs.frequency is {schedule.frequency!r}: expected one of "
            f"{', '.join(SCHEDULE_FREQUENCIES)}"
        )
    if schedule.interval < 1:
        raise ValueError(f"ScheduleArgs.interval is {schedule.interval}: expected 1 or more")
    try:
        start = datetime.fromisoformat(schedule.start_time)
    except ValueError:
        raise ValueError(
            f"ScheduleArgs.start_time is {schedule.start_time!r}: expected an ISO 8601 time "
            "such as 2026-01-01T02:00:00Z"
        ) from None
    # ADF reads startTime in timeZone: UTC times end in Z, others carry no offset at all.
    if schedule.time_zone == "UTC" and start.utcoffset() != timedelta(0):
        raise ValueError(
            f"ScheduleArgs.start_time is {schedule.start_time!r}: with time_zone UTC, write "
            "it in UTC ending in Z, such as 2026-01-01T02:00:00Z"
        )
    if schedule.time_zone != "UTC" and start.tzinfo is not None:
        raise ValueError(
            f"ScheduleArgs.start_time is {schedule.start_time!r}: with time_zone "
            f"{schedule.time_zone!r}, write the local time without Z or an offset, such as "
            "2026-01-01T02:00:00"
        )
    _validate_parameters("ScheduleArgs.parameters", schedule.parameters)


def https_url(endpoint: str) -> str:
    """`endpoint` with an https scheme: ARM reports the Batch account endpoint without one."""
    return endpoint if endpoint.startswith("https://") else f"https://{endpoint}"


def batch_pool_id(pool: str) -> str:
    """The Batch pool id (what ADF's poolName and the Batch data plane use), given either that
    id or the pool's ARM resource id, whose last segment it is (pool ids cannot contain `/`)."""
    return pool.rsplit("/", 1)[-1]


def _expression(value: str) -> adf.ExpressionArgs:
    # The form ADF Studio writes for dynamic content; ADF evaluates it before it writes
    # activity.json, so the orchestrator reads plain strings.
    return adf.ExpressionArgs(type=adf.ExpressionType.EXPRESSION, value=value)


def _linked_service_ref(name: pulumi.Input[str]) -> adf.LinkedServiceReferenceArgs:
    return adf.LinkedServiceReferenceArgs(
        reference_name=name, type=adf.Type.LINKED_SERVICE_REFERENCE
    )


class DataFactory(pulumi.ComponentResource):
    factory_name: pulumi.Output[str]
    # The factory's system-assigned identity: the one the data-lake linked service uses.
    system_principal_id: pulumi.Output[str]
    pipeline_name: pulumi.Output[str]
    trigger_name: pulumi.Output[str | None]  # None when no schedule is configured

    def __init__(
        self, name: str, args: DataFactoryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        validate_args(args)  # before registering anything: bad args declare nothing
        super().__init__("rosbag:datafactory:DataFactory", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        factory = adf.Factory(
            f"{name}-factory",
            resource_group_name=args.resource_group_name,
            location=args.location,
            identity=adf.FactoryIdentityArgs(
                # The system-assigned identity is for the firewalled data lake: "Trusted bypass
                # cannot utilize user-assigned managed identities. It can only employ
                # system-assigned managed identities for connecting to Azure Storage and Azure
                # Key Vault" (learn.microsoft.com/azure/data-factory/data-factory-service-identity).
                type=adf.FactoryIdentityType.SYSTEM_ASSIGNED_USER_ASSIGNED,
                user_assigned_identities=pulumi.Output.from_input(args.factory_identity_id).apply(
                    lambda identity_id: {identity_id: {}}
                ),
            ),
            # The portal, `ops` and CI start runs through the public endpoint, and the
            # activity runs on the Azure integration runtime, which is not in our VNet.
            public_network_access=adf.PublicNetworkAccess.ENABLED,
            tags=dict(args.tags),
            opts=child,
        )

        # The factory carries the identity; the credential lets linked services use it.
        credential = adf.CredentialOperation(
            f"{name}-credential",
            resource_group_name=args.resource_group_name,
            factory_name=factory.name,
            credential_name=CREDENTIAL_NAME,
            properties=adf.ManagedIdentityCredentialArgs(
                type="ManagedIdentity", resource_id=args.factory_identity_id
            ),
            opts=child,
        )
        auth = adf.CredentialReferenceArgs(
            reference_name=credential.name,
            type=adf.CredentialReferenceType.CREDENTIAL_REFERENCE,
        )

        # Staging for the Custom activity (runtime files, stdout/stderr in `adfjobs`). It must
        # be Azure Blob, and the Batch auto-storage account rather than the NFS data lake,
        # whose network rules deny everything but the pool subnet.
        staging = adf.LinkedService(
            f"{name}-staging-blob",
            resource_group_name=args.resource_group_name,
            factory_name=factory.name,
            linked_service_name=STAGING_LINKED_SERVICE,
            properties=adf.AzureBlobStorageLinkedServiceArgs(
                type="AzureBlobStorage",
                service_endpoint=args.staging_blob_endpoint,
                account_kind="StorageV2",
                credential=auth,
            ),
            opts=child,
        )
        batch = adf.LinkedService(
            f"{name}-batch",
            resource_group_name=args.resource_group_name,
            factory_name=factory.name,
            linked_service_name=BATCH_LINKED_SERVICE,
            properties=adf.AzureBatchLinkedServiceArgs(
                type="AzureBatch",
                account_name=args.batch_account_name,
                batch_uri=pulumi.Output.from_input(args.batch_account_endpoint).apply(https_url),
                pool_name=pulumi.Output.from_input(args.orchestrator_pool_id).apply(batch_pool_id),
                linked_service_name=_linked_service_ref(staging.name),
                # UNCONFIRMED GA: the docs table still lists accessKey as required, but the
                # ARM schema takes a credential; we never fall back to an account key.
                credential=auth,
            ),
            opts=child,
        )
        # Not used by the pipeline today: these let pipelines authored in ADF Studio read
        # secrets and the data lake with the same identity, without anyone adding a key.
        adf.LinkedService(
            f"{name}-key-vault",
            resource_group_name=args.resource_group_name,
            factory_name=factory.name,
            linked_service_name=KEY_VAULT_LINKED_SERVICE,
            properties=adf.AzureKeyVaultLinkedServiceArgs(
                type="AzureKeyVault", base_url=args.key_vault_uri, credential=auth
            ),
            opts=child,
        )
        adf.LinkedService(
            f"{name}-data-lake",
            resource_group_name=args.resource_group_name,
            factory_name=factory.name,
            linked_service_name=DATA_LAKE_LINKED_SERVICE,
            # No credential: ADLS Gen2 with the factory's system-assigned identity, the only one
            # the lake's trusted-services bypass admits (see the factory's identity above).
            properties=adf.AzureBlobFSLinkedServiceArgs(
                type="AzureBlobFS", url=args.data_lake_dfs_endpoint
            ),
            opts=child,
        )

        pipeline = adf.Pipeline(
            f"{name}-pipeline",
            pipeline_name=PIPELINE_NAME,
            description="Extract every ROS bag under inputPath into tables under outputPath.",
            parameters={
                key: adf.ParameterSpecificationArgs(
                    type=adf.ParameterType.STRING, default_value=default
                )
                for key, default in _default_parameters(args).items()
            },
            activities=[_orchestrator_activity(args, batch.name), _verdict_activity()],
            opts=child,
            resource_group_name=args.resource_group_name,
            factory_name=factory.name,
        )

        trigger_name: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.schedule is not None:
            trigger = adf.Trigger(
                f"{name}-schedule",
                resource_group_name=args.resource_group_name,
                factory_name=factory.name,
                trigger_name=TRIGGER_NAME,
                properties=_schedule_trigger(args, args.schedule, pipeline.name),
                # ADF refuses to update (or delete) a started trigger. Replacing it on any
                # change, deleting first, makes Pulumi delete the TriggerState resource that
                # depends on it first too (infra/dynamic/trigger_state.py), which stops it.
                # Deleting first is also what a pinned name needs.
                opts=pulumi.ResourceOptions(
                    parent=self, replace_on_changes=["*"], delete_before_replace=True
                ),
            )
            trigger_name = trigger.name

        self.factory_name = factory.name
        self.system_principal_id = factory.identity.apply(
            lambda identity: identity.principal_id if identity else ""
        )
        self.pipeline_name = pipeline.name
        self.trigger_name = trigger_name
        self.register_outputs(
            {
                "factory_name": self.factory_name,
                "system_principal_id": self.system_principal_id,
                "pipeline_name": self.pipeline_name,
                "trigger_name": self.trigger_name,
            }
        )


def _default_parameters(args: DataFactoryArgs) -> dict[str, str]:
    return {
        "inputPath": args.default_input_path,
        "outputPath": args.default_output_path,
        "format": args.default_format,
    }


def _orchestrator_activity(
    args: DataFactoryArgs, batch_linked_service: pulumi.Input[str]
) -> adf.CustomActivityArgs:
    command = pulumi.Output.from_input(args.orchestrator_package_version).apply(
        lambda version: orchestrator_command(
            args.orchestrator_app_id, version, "extract", "--executor", "batch"
        )
    )
    return adf.CustomActivityArgs(
        name=ACTIVITY_NAME,
        type="Custom",
        description="Runs the orchestrator from its Batch application package.",
        linked_service_name=_linked_service_ref(batch_linked_service),
        command=command,
        extended_properties=_extended_properties(args),
        policy=adf.ActivityPolicyArgs(
            timeout=args.activity_timeout,
            retry=args.activity_retries,
            retry_interval_in_seconds=args.activity_retry_interval_seconds,
            # Nothing secret passes through the activity, and its output (outputs.json) is the
            # run summary operators need to see.
            secure_input=False,
            secure_output=False,
        ),
        retention_time_in_days=args.activity_retention_days,
        # ADF runs the activity's task as a non-admin, task-scoped auto-user by default
        # (azure-mgmt-datafactory models CustomActivityTypeProperties.auto_user_specification),
        # and that user cannot list bag folders uploaded after its node started: ADLS creates
        # them with umask 007 (no access for "other"), and NFS enforces the modes. A default ACL
        # on raw/ would not fix it: by the ACL docs' umask rules the inherited "other" entry is
        # masked with 007 too, and named ACL entries make files unreadable to non-root NFS users
        # (learn.microsoft.com/azure/storage/blobs/data-lake-storage-access-control, "umask";
        # .../network-file-system-protocol-known-issues). So the orchestrator runs as the
        # pool's admin, whoever uploaded the bags and however. The property is untyped (Any)
        # in ADF's spec and azure-native; the value is Batch's AutoUserSpecification
        # (UNCONFIRMED for ADF: README "Verified only on Azure"), as a plain dict because no
        # Args class describes it. The values are Batch's wire values, lower case, as Batch's
        # REST spec defines them (azure-batch 15.x models/_enums.py AutoUserScope.POOL = "pool",
        # ElevationLevel.ADMIN = "admin"); ADF Studio displays them capitalised.
        auto_user_specification={"scope": "pool", "elevationLevel": "admin"},
    )


def _verdict_activity() -> adf.IfConditionActivityArgs:
    """Fails the pipeline when the orchestrator reported failed bags (or a timeout).

    The orchestrator ends its activity successfully once it has reported, whatever its bags
    did: a failed Custom activity is retried by ADF (policy.retry), and a retry would redo a
    run whose verdict is known. Its outputs.json (the activity's customOutput) says
    `succeeded` and, when false, a one-line `message`; this If Condition turns that into a
    failed pipeline with the message, through a Fail activity (docs/data-factory.md).
    """
    output = f"activity('{ACTIVITY_NAME}').output.customOutput"
    return adf.IfConditionActivityArgs(
        name=CHECK_ACTIVITY_NAME,
        type="IfCondition",
        description="Fails the run when the orchestrator reports failed bags.",
        depends_on=[
            adf.ActivityDependencyArgs(
                activity=ACTIVITY_NAME, dependency_conditions=[adf.DependencyCondition.SUCCEEDED]
            )
        ],
        expression=_expression(f"@equals({output}.succeeded, true)"),
        if_false_activities=[
            adf.FailActivityArgs(
                name=FAIL_ACTIVITY_NAME,
                type="Fail",
                description="The orchestrator's one-line summary of what failed.",
                message=_expression(f"@{output}.message"),
                error_code=FAIL_ERROR_CODE,
            )
        ],
    )


def _extended_properties(args: DataFactoryArgs) -> dict[str, object]:
    """What the orchestrator reads from activity.json (docs/contracts.md §3, all strings)."""
    return {
        **{key: _expression(f"@pipeline().parameters.{key}") for key in PIPELINE_PARAMETERS},
        "runId": _expression("@pipeline().RunId"),
        "batchAccountEndpoint": pulumi.Output.from_input(args.batch_account_endpoint).apply(
            https_url
        ),
        "executionPoolId": pulumi.Output.from_input(args.execution_pool_id).apply(batch_pool_id),
        "processorImage": args.processor_image,
        "registryServer": args.registry_server,
        "orchestratorIdentityClientId": args.orchestrator_identity_client_id,
        "executionIdentityResourceId": args.execution_identity_id,
        "mountPath": args.mount_path,
        "taskLogsContainerUrl": args.task_logs_container_url,
        "keyVaultUri": args.key_vault_uri,
        "appInsightsSecretName": args.app_insights_secret_name,
        "timeoutMinutes": str(args.orchestrator_timeout_minutes),
        "dataLakeUrl": args.data_lake_url,
    }


def _schedule_trigger(
    args: DataFactoryArgs, schedule: ScheduleArgs, pipeline_name: pulumi.Input[str]
) -> adf.ScheduleTriggerArgs:
    return adf.ScheduleTriggerArgs(
        type="ScheduleTrigger",
        description=(
            f"Runs {PIPELINE_NAME} every {schedule.interval} x {schedule.frequency}, "
            f"from {schedule.start_time} ({schedule.time_zone})."
        ),
        recurrence=adf.ScheduleTriggerRecurrenceArgs(
            frequency=schedule.frequency,
            interval=schedule.interval,
            start_time=schedule.start_time,
            time_zone=schedule.time_zone,
        ),
        pipelines=[
            adf.TriggerPipelineReferenceArgs(
                pipeline_reference=adf.PipelineReferenceArgs(
                    reference_name=pipeline_name,
                    type=adf.PipelineReferenceType.PIPELINE_REFERENCE,
                ),
                parameters={**_default_parameters(args), **schedule.parameters},
            )
        ],
    )
