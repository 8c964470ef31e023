"""The `extract-bags` pipeline's definition: its parameters, the Custom activity that starts the
orchestrator on the orchestrator pool, and the If Condition that fails the run on failed bags.

The Custom activity ships no code (no `resourceLinkedService`/`folderPath`): the orchestrator
comes from the Batch application package the orchestrator pool references, and the activity
passes everything the orchestrator needs in `extendedProperties` (docs/contracts.md §3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import datafactory as adf

from infra.components.adf_linked_services import linked_service_ref
from infra.node_commands import orchestrator_command

if TYPE_CHECKING:
    from infra.components.data_factory import DataFactoryArgs

PIPELINE_NAME = "extract-bags"
ACTIVITY_NAME = "run-orchestrator"
CHECK_ACTIVITY_NAME = "check-bags"
FAIL_ACTIVITY_NAME = "bags-failed"
FAIL_ERROR_CODE = "ExtractionFailed"
# lakePath: the lake's folder in the data container, where the orchestrator commits the run's
# rows after its tasks (docs/lakehouse.md, "On Azure"); an empty value commits nothing.
PIPELINE_PARAMETERS = ("inputPath", "outputPath", "format", "lakePath")
# Set by a storage event trigger (adf_event_trigger.py: the blob that landed) and by the stack
# (quarantineBags: where unreadable bags go); empty: the whole input, bags left in place.
EVENT_PARAMETERS = ("bagPath", "quarantinePath")
# The processor's --format choices (docs/contracts.md §2; tests/test_contracts.py keeps the
# copies in the processor, the orchestrator and ops equal to this one).
OUTPUT_FORMATS = ("csv", "parquet")
# The processor options the orchestrator passes to every task (issue 13, docs/data-factory.md
# "Processor options"), each with the default that means "not given" (the processor's own
# default). The orchestrator's copy is apps/orchestrator/orchestrator/passthrough.py TABLE;
# tests/test_contracts.py holds the two equal. syncWith is comma-separated topics.
PASS_THROUGH_PARAMETERS: dict[str, str | bool] = {
    "sliceStart": "",
    "sliceEnd": "",
    "syncReference": "",
    "syncWith": "",
    "syncTolerance": "",
    "syncMethod": "",
    "syncClock": "",
    "pointClouds": "parquet",
    "video": False,
}


def default_parameters(args: DataFactoryArgs) -> dict[str, str]:
    return {
        "inputPath": args.default_input_path,
        "outputPath": args.default_output_path,
        "format": args.default_format,
        "lakePath": args.default_lake_path,
    }


def event_parameters(args: DataFactoryArgs) -> dict[str, str]:
    return {"bagPath": "", "quarantinePath": args.quarantine_path}


def declare_pipeline(
    name: str,
    args: DataFactoryArgs,
    factory_name: pulumi.Input[str],
    batch_linked_service: pulumi.Input[str],
    parent: pulumi.Resource,
) -> adf.Pipeline:
    return adf.Pipeline(
        f"{name}-pipeline",
        pipeline_name=PIPELINE_NAME,
        description="Extract every ROS bag under inputPath into tables under outputPath.",
        parameters={
            **{
                key: adf.ParameterSpecificationArgs(
                    type=adf.ParameterType.STRING, default_value=default
                )
                for key, default in {**default_parameters(args), **event_parameters(args)}.items()
            },
            **pass_through_parameters(),
        },
        activities=[orchestrator_activity(args, batch_linked_service), verdict_activity()],
        opts=pulumi.ResourceOptions(parent=parent),
        resource_group_name=args.resource_group_name,
        factory_name=factory_name,
    )


def pass_through_parameters() -> dict[str, adf.ParameterSpecificationArgs]:
    """The processor options' parameters: a boolean for a switch, else a string."""
    return {
        key: adf.ParameterSpecificationArgs(
            type=adf.ParameterType.BOOL if isinstance(default, bool) else adf.ParameterType.STRING,
            default_value=default,
        )
        for key, default in PASS_THROUGH_PARAMETERS.items()
    }


def _pass_through_value(key: str) -> adf.ExpressionArgs:
    # The orchestrator reads plain strings only (orchestrator/adf.py read_activity): a boolean
    # goes through string(), which gives 'True' or 'False'.
    if isinstance(PASS_THROUGH_PARAMETERS[key], bool):
        return _expression(f"@string(pipeline().parameters.{key})")
    return _expression(f"@pipeline().parameters.{key}")


def _expression(value: str) -> adf.ExpressionArgs:
    # The form ADF Studio writes for dynamic content; ADF evaluates it before it writes
    # activity.json, so the orchestrator reads plain strings.
    return adf.ExpressionArgs(type=adf.ExpressionType.EXPRESSION, value=value)


def orchestrator_activity(
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
        linked_service_name=linked_service_ref(batch_linked_service),
        command=command,
        extended_properties=extended_properties(args),
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


def verdict_activity() -> adf.IfConditionActivityArgs:
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


def extended_properties(args: DataFactoryArgs) -> dict[str, object]:
    """What the orchestrator reads from activity.json (docs/contracts.md §3, all strings)."""
    return {
        **{
            key: _expression(f"@pipeline().parameters.{key}")
            for key in (*PIPELINE_PARAMETERS, *EVENT_PARAMETERS)
        },
        **{key: _pass_through_value(key) for key in PASS_THROUGH_PARAMETERS},
        "runId": _expression("@pipeline().RunId"),
        "batchAccountEndpoint": args.batch_account_endpoint,
        "executionPoolId": args.execution_pool_id,
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
