"""The offline engine (offline/) itself: stack files are read as the CLI reads them, runs are
independent and repeatable, and what the mocks compute looks like Azure's answers."""

from __future__ import annotations

import re
from pathlib import Path

import pulumi
import pytest
from pulumi_azure_native import authorization, resources, storage

from offline import (
    MOCK_SUBSCRIPTION_ID,
    OfflineError,
    Recording,
    load_stack_config,
    run_stack,
)


def write_project(root: Path, stack_yaml: str) -> Path:
    (root / "Pulumi.yaml").write_text(
        "name: demo\nruntime: python\nconfig:\n  size:\n    type: integer\n    default: 3\n"
    )
    (root / "Pulumi.test.yaml").write_text(stack_yaml)
    return root


def small_program() -> None:
    client = authorization.get_client_config_output()
    group = resources.ResourceGroup("rg", location="westeurope")
    account = storage.StorageAccount(
        "st",
        resource_group_name=group.name,
        kind=storage.Kind.STORAGE_V2,
        sku=storage.SkuArgs(name=storage.SkuName.STANDARD_LRS),
        opts=pulumi.ResourceOptions(protect=True, replace_on_changes=["isHnsEnabled"]),
    )
    size = pulumi.Config().require_int("size")
    pulumi.export("blob", account.primary_endpoints.blob)
    pulumi.export("subscription", client.subscription_id)
    pulumi.export("size", size)
    pulumi.export("token", pulumi.Output.secret("s3cr3t"))


def test_config_uses_project_namespace_and_schema_defaults(tmp_path: Path) -> None:
    root = write_project(tmp_path, "config:\n  azure-native:location: eastus\n  demo:size: 5\n")
    assert load_stack_config("test", root) == {"demo:size": "5", "azure-native:location": "eastus"}
    root = write_project(tmp_path, "config:\n  azure-native:location: eastus\n")
    assert load_stack_config("test", root)["demo:size"] == "3"


def test_encrypted_values_are_refused_with_a_reason(tmp_path: Path) -> None:
    root = write_project(tmp_path, "config:\n  demo:size:\n    secure: AAABAK==\n")
    with pytest.raises(OfflineError, match="encrypted secret"):
        load_stack_config("test", root)


def test_records_inputs_options_state_and_outputs(tmp_path: Path) -> None:
    root = write_project(tmp_path, "config:\n  azure-native:location: eastus\n")
    recording = run_stack("test", project_dir=root, program=small_program)
    group, account = recording.resources
    assert group.parent_urn == recording.stack_urn
    assert group.state["name"].startswith("rg")
    assert account.options.protect
    assert account.options.replace_on_changes == ("isHnsEnabled",)
    assert group.urn in account.options.depends_on
    assert account.id == (
        f"/subscriptions/{MOCK_SUBSCRIPTION_ID}/resourceGroups/{group.state['name']}"
        f"/providers/Microsoft.Storage/storageAccounts/{account.state['name']}"
    )
    assert (
        recording.outputs["blob"].value == f"https://{account.state['name']}.blob.core.windows.net/"
    )
    assert recording.outputs["subscription"].value == MOCK_SUBSCRIPTION_ID
    assert recording.outputs["size"].value == 3
    assert recording.outputs["token"].secret and not recording.outputs["blob"].secret


def test_runs_are_independent_and_repeatable(recordings: dict[str, Recording]) -> None:
    again = run_stack("dev")
    first = recordings["dev"]
    # Registration order varies with the event loop; the set of resources and inputs must not.
    assert {r.urn: r.inputs for r in again.resources} == {r.urn: r.inputs for r in first.resources}
    assert again.outputs == first.outputs


def test_an_invoke_the_mocks_do_not_know_is_named(tmp_path: Path) -> None:
    root = write_project(tmp_path, "config:\n  azure-native:location: eastus\n")

    def program() -> None:
        pulumi.export("token", authorization.get_client_token_output().token)

    with pytest.raises(OfflineError, match="azure-native:authorization:getClientToken"):
        run_stack("test", project_dir=root, program=program)


def test_our_dynamic_resources_get_realistic_stand_in_outputs(tmp_path: Path) -> None:
    # The providers never run offline; the mocks fill what they would return, so the pools and
    # the pipeline see a real-shaped image reference and application id in the preview.
    from infra.components.artifacts import Artifacts, ArtifactsArgs
    from infra.placement import Placement

    root = write_project(tmp_path, "config:\n  azure-native:location: eastus\n")

    def program() -> None:
        built = Artifacts(
            "artifacts",
            ArtifactsArgs(
                placement=Placement("rg-demo", "eastus"),
                subscription_id=MOCK_SUBSCRIPTION_ID,
                registry_name="demoacr",
                registry_login_server="demoacr.azurecr.io",
                batch_account_name="demobatch",
            ),
        )
        pulumi.export("image", built.processor_image)
        pulumi.export("application", built.orchestrator_application_id)

    outputs = run_stack("test", project_dir=root, program=program).outputs
    assert re.fullmatch(
        r"demoacr\.azurecr\.io/processor@sha256:[0-9a-f]{64}", outputs["image"].value
    )
    assert outputs["application"].value == (
        f"/subscriptions/{MOCK_SUBSCRIPTION_ID}/resourceGroups/rg-demo"
        "/providers/Microsoft.Batch/batchAccounts/demobatch/applications/orchestrator"
    )


def test_nothing_pulumi_up_runs_imports_the_offline_engine_or_the_tests() -> None:
    """infra/ holds only what `pulumi up` runs: the mocks stay outside it."""
    import ast

    from offline import REPO_ROOT

    offenders: list[str] = []
    for path in [*sorted((REPO_ROOT / "infra").rglob("*.py")), REPO_ROOT / "__main__.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in ("offline", "tests")]
    assert offenders == []
