"""The Data Factory component under Pulumi mocks: identity, credential, linked-service auth, the
`extract-bags` pipeline (command, extendedProperties, policy) and the optional schedule trigger.

The component is declared on its own with literal inputs (the orchestrator package version is an
Output, as it is when the dynamic provider supplies it), recorded by `offline`, and the
inputs Azure would receive are asserted. The activity's command line is also executed with bash
against a fake application package directory.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pulumi
import pytest
from azure.batch.models import AutoUserScope, ElevationLevel

from infra.components.data_factory import (
    ACTIVITY_NAME,
    CHECK_ACTIVITY_NAME,
    FAIL_ACTIVITY_NAME,
    FAIL_ERROR_CODE,
    PIPELINE_NAME,
    TRIGGER_NAME,
    DataFactory,
    DataFactoryArgs,
    parse_activity_timeout,
    validate_args,
)
from infra.config import Schedule
from infra.node_commands import LAUNCHER, app_package_env_var
from offline import RecordedResource, Recording, run_stack
from tests.ops.adf_pipeline import CustomRun, run_pipeline

SUBSCRIPTION = "/subscriptions/00000000-1111-2222-3333-444444444444"
RESOURCE_GROUP = "rg-rosbag-test"
_IDENTITIES = f"{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity"
IDENTITY_ID = f"{_IDENTITIES}/userAssignedIdentities/id-rosbag-factory"
ORCHESTRATOR_CLIENT_ID = "1a1a1a1a-2b2b-3c3c-4d4d-5e5e5e5e5e5e"
EXECUTION_IDENTITY_ID = f"{_IDENTITIES}/userAssignedIdentities/id-rosbag-execution"
PACKAGE_VERSION = "1.2.0-3f9a2c1"  # dots and dashes: Batch rewrites both in the variable name

FACTORY = "azure-native:datafactory:Factory"
CREDENTIAL = "azure-native:datafactory:CredentialOperation"
LINKED_SERVICE = "azure-native:datafactory:LinkedService"
PIPELINE = "azure-native:datafactory:Pipeline"
TRIGGER = "azure-native:datafactory:Trigger"

# Anything that would put key material into the factory; linked services must use the credential.
SECRET_BEARING_KEYS = {
    "accessKey",
    "accountKey",
    "connectionString",
    "sasUri",
    "sasToken",
    "servicePrincipalKey",
    "servicePrincipalCredential",
    "encryptedCredential",
    "password",
}


def literal_args(**overrides: Any) -> DataFactoryArgs:
    """Args shaped like the ones infra/program.py passes, with literal values."""
    args = DataFactoryArgs(
        resource_group_name=RESOURCE_GROUP,
        location="westeurope",
        factory_identity_id=IDENTITY_ID,
        orchestrator_identity_client_id=ORCHESTRATOR_CLIENT_ID,
        execution_identity_id=EXECUTION_IDENTITY_ID,
        batch_account_name="batchrosbag",
        # As infra/components/batch.py's BatchAccount.endpoint gives it.
        batch_account_endpoint="https://batchrosbag.westeurope.batch.azure.com",
        orchestrator_pool_id="orchestrator",
        execution_pool_id="execution",
        staging_blob_endpoint="https://stbatchrosbag.blob.core.windows.net/",
        data_lake_dfs_endpoint="https://strosbaglake.dfs.core.windows.net/",
        key_vault_uri="https://kv-rosbag.vault.azure.net/",
        app_insights_secret_name="appinsights-connection-string",
        registry_server="crrosbag.azurecr.io",
        processor_image="crrosbag.azurecr.io/processor:5d41402a",
        orchestrator_package_version=PACKAGE_VERSION,
        task_logs_container_url="https://stbatchrosbag.blob.core.windows.net/task-logs",
        data_lake_url="https://dlrosbag.blob.core.windows.net/data",
        tags={"project": "rosbag", "stack": "test"},
        subscription_id="00000000-1111-2222-3333-444444444444",
    )
    return replace(args, **overrides)


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A minimal project and stack file, so the component is tested apart from the real config."""
    directory = tmp_path_factory.mktemp("adf-project")
    (directory / "Pulumi.yaml").write_text("name: rosbag\nruntime: python\n", encoding="utf-8")
    (directory / "Pulumi.test.yaml").write_text(
        "config:\n  azure-native:location: westeurope\n", encoding="utf-8"
    )
    return directory


Declare = Callable[..., Recording]


@pytest.fixture(scope="module")
def declare(project_dir: Path) -> Declare:
    """Declare the component with `literal_args(**overrides)` and return the recording."""

    def run(**overrides: Any) -> Recording:
        def program() -> None:
            # An Output, like the version the application-package provider reports.
            version = pulumi.Output.from_input(PACKAGE_VERSION)
            args = literal_args(orchestrator_package_version=version, **overrides)
            component = DataFactory("adf", args)
            pulumi.export("factoryName", component.factory_name)
            pulumi.export("pipelineName", component.pipeline_name)
            pulumi.export("triggerName", component.trigger_name)

        return run_stack("test", project_dir=project_dir, program=program)

    return run


@pytest.fixture(scope="module")
def recording(declare: Declare) -> Recording:
    return declare()


@pytest.fixture(scope="module")
def scheduled(declare: Declare) -> Recording:
    return declare(
        schedule=Schedule(frequency="Day", interval=1, start_time="2026-12-01T02:00:00Z")
    )


def linked_service(recording: Recording, suffix: str) -> RecordedResource:
    return recording.one(LINKED_SERVICE, suffix)


def custom_activity(recording: Recording) -> dict[str, Any]:
    activities = recording.one(PIPELINE).inputs["activities"]
    (activity,) = [activity for activity in activities if activity["type"] == "Custom"]
    return activity


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair in nested dicts and lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


# --- the factory and its credential --------------------------------------------------------


def test_factory_carries_the_factory_identity(recording: Recording) -> None:
    factory = recording.one(FACTORY)
    # System-assigned too: the only identity the data lake's trusted-services bypass admits
    # (docs/azure-behaviour.md, "Storage").
    assert factory.inputs["identity"] == {
        "type": "SystemAssigned,UserAssigned",
        "userAssignedIdentities": {IDENTITY_ID: {}},
    }
    assert factory.inputs["publicNetworkAccess"] == "Enabled"
    assert factory.inputs["resourceGroupName"] == RESOURCE_GROUP
    assert factory.inputs["location"] == "westeurope"
    assert factory.inputs["tags"] == {"project": "rosbag", "stack": "test"}


def test_credential_is_the_factory_identity_in_this_factory(recording: Recording) -> None:
    credential = recording.one(CREDENTIAL)
    assert credential.inputs["properties"] == {
        "type": "ManagedIdentity",
        "resourceId": IDENTITY_ID,
    }
    assert credential.inputs["factoryName"] == recording.one(FACTORY).state["name"]


# --- linked services -----------------------------------------------------------------------


def test_every_linked_service_but_the_lakes_authenticates_with_the_credential(
    recording: Recording,
) -> None:
    services = recording.of_type(LINKED_SERVICE)
    assert sorted(s.inputs["properties"]["type"] for s in services) == [
        "AzureBatch",
        "AzureBlobFS",
        "AzureBlobStorage",
        "AzureKeyVault",
    ]
    credential_name = recording.one(CREDENTIAL).state["name"]
    for service in services:
        if service.inputs["properties"]["type"] == "AzureBlobFS":
            # The firewalled lake: no credential means the factory's system-assigned identity.
            assert "credential" not in service.inputs["properties"]
            continue
        assert service.inputs["properties"]["credential"] == {
            "referenceName": credential_name,
            "type": "CredentialReference",
        }, service.name


def test_no_key_material_anywhere_in_the_factory(
    recording: Recording, scheduled: Recording
) -> None:
    for resource in recording.resources + scheduled.resources:
        found = {key for key, _ in walk(dict(resource.inputs)) if key in SECRET_BEARING_KEYS}
        assert not found, f"{resource.name} declares {found}"
        # A dynamic resource's `__provider` (its pickled provider code) is secret by Pulumi's
        # default (pulumi/dynamic/dynamic.py, serialize_as_secret_always): not a key.
        secrets = resource.secret_inputs - {"__provider"}
        assert not secrets, f"{resource.name} takes secrets {secrets}"


def test_batch_linked_service_runs_on_the_orchestrator_pool(recording: Recording) -> None:
    batch = linked_service(recording, "-batch").inputs["properties"]
    assert batch["accountName"] == "batchrosbag"
    assert batch["batchUri"] == "https://batchrosbag.westeurope.batch.azure.com"
    assert batch["poolName"] == "orchestrator"
    assert batch["linkedServiceName"] == {
        "referenceName": linked_service(recording, "-staging-blob").state["name"],
        "type": "LinkedServiceReference",
    }


def test_storage_key_vault_and_data_lake_endpoints(recording: Recording) -> None:
    staging = linked_service(recording, "-staging-blob").inputs["properties"]
    assert staging["serviceEndpoint"] == "https://stbatchrosbag.blob.core.windows.net/"
    assert staging["accountKind"] == "StorageV2"
    key_vault = linked_service(recording, "-key-vault").inputs["properties"]
    assert key_vault["baseUrl"] == "https://kv-rosbag.vault.azure.net/"
    data_lake = linked_service(recording, "-data-lake").inputs["properties"]
    assert data_lake["url"] == "https://strosbaglake.dfs.core.windows.net/"


def test_references_order_the_deployment(recording: Recording) -> None:
    """ADF rejects a reference to something that does not exist yet: each must depend on it."""
    urn = {suffix: linked_service(recording, suffix).urn for suffix in ("-batch", "-staging-blob")}
    credential = recording.one(CREDENTIAL).urn
    batch = linked_service(recording, "-batch")
    assert {urn["-staging-blob"], credential} <= set(batch.options.depends_on)
    assert urn["-batch"] in recording.one(PIPELINE).options.depends_on


# --- the pipeline and its Custom activity --------------------------------------------------


def test_pipeline_parameters_and_defaults(recording: Recording) -> None:
    pipeline = recording.one(PIPELINE)
    assert pipeline.inputs["pipelineName"] == PIPELINE_NAME == "extract-bags"
    assert pipeline.inputs["parameters"] == {
        "inputPath": {"type": "String", "defaultValue": "raw/"},
        "outputPath": {"type": "String", "defaultValue": "extracted/"},
        "format": {"type": "String", "defaultValue": "csv"},
        # Where the run's rows are committed (docs/lakehouse.md, "On Azure").
        "lakePath": {"type": "String", "defaultValue": "lake/"},
        # Set by the event triggers (the blob) and quarantineBags; empty by default.
        "bagPath": {"type": "String", "defaultValue": ""},
        "quarantinePath": {"type": "String", "defaultValue": ""},
        # The processor options (issue 13): each default means "not given".
        "sliceStart": {"type": "String", "defaultValue": ""},
        "sliceEnd": {"type": "String", "defaultValue": ""},
        "syncReference": {"type": "String", "defaultValue": ""},
        "syncWith": {"type": "String", "defaultValue": ""},
        "syncTolerance": {"type": "String", "defaultValue": ""},
        "syncMethod": {"type": "String", "defaultValue": ""},
        "syncClock": {"type": "String", "defaultValue": ""},
        "pointClouds": {"type": "String", "defaultValue": "parquet"},
        "video": {"type": "Bool", "defaultValue": False},
    }
    assert recording.outputs["pipelineName"].value == "extract-bags"


def test_the_processor_options_reach_the_activity_as_strings(recording: Recording) -> None:
    properties = custom_activity(recording)["extendedProperties"]
    expression = {"type": "Expression"}
    for key in ("sliceStart", "sliceEnd", "syncReference", "syncWith", "syncTolerance"):
        assert properties[key] == {**expression, "value": f"@pipeline().parameters.{key}"}
    for key in ("syncMethod", "syncClock", "pointClouds"):
        assert properties[key] == {**expression, "value": f"@pipeline().parameters.{key}"}
    # The orchestrator reads plain strings only: the boolean goes through string().
    assert properties["video"] == {**expression, "value": "@string(pipeline().parameters.video)"}


def test_custom_activity_runs_on_batch_without_shipping_files(recording: Recording) -> None:
    activity = custom_activity(recording)
    assert activity["type"] == "Custom"
    assert activity["name"] == ACTIVITY_NAME
    assert activity["linkedServiceName"] == {
        "referenceName": linked_service(recording, "-batch").state["name"],
        "type": "LinkedServiceReference",
    }
    # The code comes from the application package: no resource folder to copy.
    assert "resourceLinkedService" not in activity
    assert "folderPath" not in activity
    assert activity["policy"] == {
        "timeout": "0.12:00:00",
        "retry": 1,
        "retryIntervalInSeconds": 120,
        "secureInput": False,
        "secureOutput": False,
    }
    assert activity["retentionTimeInDays"] == 30


def test_the_orchestrator_runs_as_the_pools_admin_user(recording: Recording) -> None:
    # ADF runs the Custom activity's task as a non-admin, task-scoped auto-user by default
    # (azure-mgmt-datafactory CustomActivity.auto_user_specification), and that user cannot
    # list bag folders uploaded after its node started (ADLS creates them with umask 007, and
    # NFS applies the modes). The value's shape is Batch's AutoUserSpecification (UNCONFIRMED
    # for ADF: README "Verified only on Azure").
    activity = custom_activity(recording)
    assert activity["autoUserSpecification"] == {"scope": "pool", "elevationLevel": "admin"}


def test_the_auto_user_values_are_batchs_wire_values(recording: Recording) -> None:
    """ADF hands the object to Batch; the values are the ones Batch's REST spec defines (the
    azure-batch 15.x enums carry them verbatim), not ADF Studio's capitalised display."""
    spec = custom_activity(recording)["autoUserSpecification"]
    assert spec["scope"] in {m.value for m in AutoUserScope}
    assert spec["elevationLevel"] in {m.value for m in ElevationLevel}
    assert (spec["scope"], spec["elevationLevel"]) == (
        AutoUserScope.POOL.value,
        ElevationLevel.ADMIN.value,
    )


def test_policy_follows_the_args(declare: Declare) -> None:
    recording = declare(
        activity_timeout="1.00:00:00",
        activity_retries=3,
        activity_retry_interval_seconds=600,
        activity_retention_days=7,
        orchestrator_timeout_minutes=1380,
    )
    activity = custom_activity(recording)
    assert activity["policy"]["timeout"] == "1.00:00:00"
    assert activity["policy"]["retry"] == 3
    assert activity["policy"]["retryIntervalInSeconds"] == 600
    assert activity["retentionTimeInDays"] == 7
    assert activity["extendedProperties"]["timeoutMinutes"] == "1380"


def test_extended_properties_values(recording: Recording) -> None:
    properties = custom_activity(recording)["extendedProperties"]
    expression = {"type": "Expression"}
    assert properties["inputPath"] == {**expression, "value": "@pipeline().parameters.inputPath"}
    assert properties["outputPath"] == {
        **expression,
        "value": "@pipeline().parameters.outputPath",
    }
    assert properties["format"] == {**expression, "value": "@pipeline().parameters.format"}
    assert properties["runId"] == {**expression, "value": "@pipeline().RunId"}
    literal = {key: value for key, value in properties.items() if not isinstance(value, dict)}
    assert literal == {
        "batchAccountEndpoint": "https://batchrosbag.westeurope.batch.azure.com",
        "executionPoolId": "execution",
        "processorImage": "crrosbag.azurecr.io/processor:5d41402a",
        "registryServer": "crrosbag.azurecr.io",
        # Each part authenticates as its own identity (docs/contracts.md §3).
        "orchestratorIdentityClientId": ORCHESTRATOR_CLIENT_ID,
        "executionIdentityResourceId": EXECUTION_IDENTITY_ID,
        "mountPath": "data",
        "taskLogsContainerUrl": "https://stbatchrosbag.blob.core.windows.net/task-logs",
        "keyVaultUri": "https://kv-rosbag.vault.azure.net/",
        "appInsightsSecretName": "appinsights-connection-string",
        "timeoutMinutes": "660",
        "dataLakeUrl": "https://dlrosbag.blob.core.windows.net/data",
    }
    # The contract says all strings: ADF passes these through to activity.json as they are.
    assert all(isinstance(value, str) for value in literal.values())


# --- how a run ends, run by the fake ADF (tests/ops/adf_pipeline.py) -------------------------


def orchestrator_ends(*attempts: CustomRun) -> Callable[[Any, int], CustomRun]:
    """The Custom activity's attempts, in order (the last one repeats)."""
    return lambda activity, attempt: attempts[min(attempt, len(attempts)) - 1]


def reported(succeeded: bool, message: str = "") -> CustomRun:
    custom = {"jobId": "extract-run", "succeeded": succeeded, "message": message}
    return CustomRun("Succeeded", {"exitcode": 0, "customOutput": custom})


def test_failed_bags_fail_the_pipeline_with_the_orchestrators_message_and_no_retry(
    recording: Recording,
) -> None:
    message = "1 of 2 bags failed: raw/broken.bag: exit 2: not a ROS bag"
    run = run_pipeline(recording.one(PIPELINE).inputs, orchestrator_ends(reported(False, message)))

    assert run.status == "Failed"
    assert message in run.message
    orchestrator = run.activity(ACTIVITY_NAME)
    assert orchestrator.status == "Succeeded" and orchestrator.attempts == 1  # nothing redone
    assert orchestrator.output is not None
    assert orchestrator.output["customOutput"]["message"] == message  # the report reaches ADF
    fail = run.activity(FAIL_ACTIVITY_NAME)
    assert fail.error == {
        "errorCode": FAIL_ERROR_CODE, "message": message, "failureType": "UserError",
        "target": FAIL_ACTIVITY_NAME,
    }  # fmt: skip


def test_a_run_whose_bags_all_succeeded_succeeds(recording: Recording) -> None:
    run = run_pipeline(recording.one(PIPELINE).inputs, orchestrator_ends(reported(True)))

    assert run.status == "Succeeded"
    assert [(a.name, a.status) for a in run.activities] == [
        (ACTIVITY_NAME, "Succeeded"), (CHECK_ACTIVITY_NAME, "Succeeded"),
    ]  # fmt: skip


def test_an_orchestrator_that_could_not_report_is_retried_then_fails_the_pipeline(
    recording: Recording,
) -> None:
    crashed = CustomRun("Failed", {"exitcode": 1}, {"errorCode": "2500", "message": "exit 1"})
    run = run_pipeline(recording.one(PIPELINE).inputs, orchestrator_ends(crashed, reported(True)))

    # A crash (Batch unreachable, a lost node) is worth the activity's retry: the orchestrator
    # resumes its job.
    assert run.status == "Succeeded" and run.activity(ACTIVITY_NAME).attempts == 2
    always = run_pipeline(recording.one(PIPELINE).inputs, orchestrator_ends(crashed))
    assert always.status == "Failed" and "exit 1" in always.message
    assert always.activity(CHECK_ACTIVITY_NAME).status == "Skipped"


# --- the command, executed -----------------------------------------------------------------


def run_activity_command(
    command: str, env: dict[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run the command the way Batch does: split into argv, no shell of its own."""
    return subprocess.run(
        shlex.split(command), env=env, cwd=cwd, capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def fake_package(tmp_path: Path) -> Path:
    """An extracted application package whose launcher records how it was started. The
    launcher is not executable: zip extraction on the node may drop the mode bits."""
    package = tmp_path / "apps" / "orchestrator-package"
    package.mkdir(parents=True)
    launcher = package / LAUNCHER
    launcher.write_text(
        '#!/bin/bash\nprintf "%s\\n" "$@" > "$PWD/launched-with"\nexit 7\n', encoding="utf-8"
    )
    launcher.chmod(0o644)
    return package


def test_command_names_the_versioned_package_variable(recording: Recording) -> None:
    command = custom_activity(recording)["command"]
    assert shlex.split(command)[:2] == ["/bin/bash", "-c"]
    assert "AZ_BATCH_APP_PACKAGE_orchestrator_1_2_0_3f9a2c1" in command
    assert app_package_env_var("orchestrator", PACKAGE_VERSION) in command


@pytest.mark.parametrize("case", [str, str.upper], ids=["case-preserved", "upper-case"])
def test_command_launches_the_orchestrator_from_the_package(
    recording: Recording, fake_package: Path, tmp_path: Path, case: Callable[[str], str]
) -> None:
    variable = case(app_package_env_var("orchestrator", PACKAGE_VERSION))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), variable: str(fake_package)}
    result = run_activity_command(custom_activity(recording)["command"], env, tmp_path)
    # exec hands over the process: the launcher's exit status is the activity's.
    assert result.returncode == 7, result.stderr
    launched_with = (tmp_path / "launched-with").read_text(encoding="utf-8").split()
    assert launched_with == ["extract", "--executor", "batch"]


def test_command_fails_clearly_when_the_package_is_missing(
    recording: Recording, tmp_path: Path
) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    result = run_activity_command(custom_activity(recording)["command"], env, tmp_path)
    assert result.returncode == 3
    assert app_package_env_var("orchestrator", PACKAGE_VERSION) in result.stderr
    assert PACKAGE_VERSION in result.stderr


# --- the schedule trigger ------------------------------------------------------------------


def test_no_trigger_without_a_schedule(recording: Recording) -> None:
    assert recording.of_type(TRIGGER) == []
    assert recording.outputs["triggerName"].value is None


def test_schedule_trigger_runs_the_pipeline(scheduled: Recording) -> None:
    trigger = scheduled.one(TRIGGER)
    assert trigger.inputs["triggerName"] == TRIGGER_NAME
    assert trigger.inputs["factoryName"] == scheduled.one(FACTORY).state["name"]
    properties = trigger.inputs["properties"]
    assert properties["type"] == "ScheduleTrigger"
    assert properties["recurrence"] == {
        "frequency": "Day",
        "interval": 1,
        "startTime": "2026-12-01T02:00:00Z",
        "timeZone": "UTC",
    }
    (run,) = properties["pipelines"]
    assert run["pipelineReference"] == {
        "referenceName": "extract-bags",
        "type": "PipelineReference",
    }
    # Scheduled runs pass every parameter: the pipeline's defaults.
    assert run["parameters"] == {
        "inputPath": "raw/",
        "outputPath": "extracted/",
        "format": "csv",
        "lakePath": "lake/",
    }
    assert scheduled.one(PIPELINE).urn in trigger.options.depends_on
    # A started trigger cannot be updated: any change replaces it, deleting (stopping) it first.
    assert trigger.options.replace_on_changes == ("*",)
    assert trigger.options.delete_before_replace
    assert scheduled.outputs["triggerName"].value == TRIGGER_NAME


def test_the_schedule_is_started_by_a_state_beside_its_trigger(
    recording: Recording, scheduled: Recording
) -> None:
    # ADF creates triggers Stopped: the component that declares the trigger also starts it.
    assert [r for r in recording.resources if r.name == "schedule-state"] == []
    (state,) = [r for r in scheduled.resources if r.name == "schedule-state"]
    trigger = scheduled.one(TRIGGER)
    assert state.parent_urn == trigger.parent_urn
    assert state.inputs["trigger_name"] == TRIGGER_NAME
    assert state.inputs["enabled"] is True
    assert state.inputs["revision"] == "Day/1/2026-12-01T02:00:00Z"
    assert trigger.urn in state.options.depends_on


# --- shape of the component ----------------------------------------------------------------


def test_children_are_named_after_the_component_and_parented_to_it(recording: Recording) -> None:
    (component,) = [r for r in recording.resources if r.type == "rosbag:datafactory:DataFactory"]
    children = recording.children(component.urn)
    assert sorted(child.name for child in children) == [
        "adf-batch",
        "adf-credential",
        "adf-data-lake",
        "adf-factory",
        "adf-key-vault",
        "adf-pipeline",
        "adf-staging-blob",
    ]
    assert recording.outputs["factoryName"].value == recording.one(FACTORY).state["name"]


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"activity_timeout": "12:00"}, r"activity_timeout is '12:00': expected d\.hh:mm:ss"),
        ({"activity_timeout": "8.00:00:00"}, r"at most 7\.00:00:00"),
        ({"activity_timeout": "0.00:00:00"}, r"more than zero"),
        ({"orchestrator_timeout_minutes": 720}, r"orchestrator_timeout_minutes is 720"),
        ({"orchestrator_timeout_minutes": 0}, r"must be positive"),
        ({"activity_retries": -1}, r"activity_retries is -1"),
        ({"activity_retry_interval_seconds": 10}, r"accepts 30 to 86400"),
        ({"activity_retention_days": 0}, r"activity_retention_days is 0"),
        ({"default_format": "json"}, r"format is 'json': expected one of csv, parquet"),
        ({"default_input_path": "/raw"}, r"inputPath is '/raw': expected a folder relative"),
        ({"default_output_path": ""}, r"outputPath is ''"),
    ],
)
def test_bad_args_are_rejected_with_the_field_and_the_fix(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        validate_args(literal_args(**overrides))


def test_bad_args_declare_nothing(project_dir: Path) -> None:
    errors: list[str] = []

    def program() -> None:
        try:
            DataFactory("adf", literal_args(activity_retries=-2))
        except ValueError as error:
            errors.append(str(error))

    recording = run_stack("test", project_dir=project_dir, program=program)
    assert errors == ["DataFactoryArgs.activity_retries is -2: expected 0 or more"]
    assert recording.resources == ()


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("0.12:00:00", 720), ("12:00:00", 720), ("7.00:00:00", 10080), ("0.00:30:15", 30.25)],
)
def test_activity_timeout_parsing(text: str, minutes: float) -> None:
    assert parse_activity_timeout(text).total_seconds() / 60 == minutes


def test_a_factory_without_a_system_principal_fails_naming_the_cause() -> None:
    """Before: an empty principal id went on to a role assignment ARM refuses (Azure review)."""
    from infra.components.data_factory import _system_principal

    with pytest.raises(ValueError, match="system-assigned principal id"):
        _system_principal(None)
