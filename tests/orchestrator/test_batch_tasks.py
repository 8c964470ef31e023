"""Plan tasks as Batch container tasks: the REST body the service receives."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator.discovery import Bag
from orchestrator.executors.batch_tasks import ContainerTaskSettings, container_task
from orchestrator.plan import PlanOptions, build_plan
from tests.orchestrator.helpers import REPO

ENTRYPOINT = REPO / "apps" / "processor" / "entrypoint.sh"

IDENTITY = (
    "/subscriptions/0/resourceGroups/rg/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/batch"
)
SETTINGS = ContainerTaskSettings(
    image="acr.azurecr.io/processor:1",
    registry_server="acr.azurecr.io",
    execution_identity_resource_id=IDENTITY,
    mount_path="data",
    task_logs_container_url="https://logs.blob.core.windows.net/task-logs",
)


def rest_body(size: int, name: str = "raw/my drive.bag") -> list[dict[str, Any]]:
    bag = Bag(PurePosixPath(name), size, PurePosixPath())
    plan = build_plan(
        "job-1", PurePosixPath("raw"), PurePosixPath("extracted"), [bag],
        PlanOptions(shard_size_bytes=100),
    )  # fmt: skip
    return [container_task(task, SETTINGS, "job-1").as_dict() for task in plan.tasks]


def test_container_task_body_uses_the_rest_names_batch_expects() -> None:
    [body] = rest_body(10)

    # The execution node's own mounts folder, resolved by the image's entry point.
    assert body["commandLine"] == (
        "/usr/local/bin/processor-entrypoint extract "
        "'$AZ_BATCH_NODE_MOUNTS_DIR/data/raw/my drive.bag' "
        "'$AZ_BATCH_NODE_MOUNTS_DIR/data/extracted' --format csv"
    )
    assert body["containerSettings"] == {
        "imageName": "acr.azurecr.io/processor:1",
        "registry": {
            "registryServer": "acr.azurecr.io",
            "identityReference": {"resourceId": IDENTITY},
        },
    }
    assert "containerHostBatchBindMounts" not in body["containerSettings"]
    assert body["userIdentity"] == {"autoUser": {"scope": "pool", "elevationLevel": "admin"}}
    # Batch retries nothing: the orchestrator retries transient failures itself.
    assert body["constraints"]["maxTaskRetryCount"] == 0
    assert "environmentSettings" not in body  # nothing secret reaches what parses bags


def test_exit_conditions_release_dependants_after_verdicts_and_hold_them_otherwise() -> None:
    [body] = rest_body(10)
    conditions = body["exitConditions"]
    release, hold = {"dependencyAction": "satisfy"}, {"dependencyAction": "block"}

    assert {m["code"]: m["exitOptions"] for m in conditions["exitCodes"]} == {
        2: release,
        3: release,
    }
    ranges = [(r["start"], r["end"]) for r in conditions["exitCodeRanges"]]
    assert ranges == [(-(2**31), -1), (1, 1), (4, 2**31 - 1)]
    assert all(r["exitOptions"] == hold for r in conditions["exitCodeRanges"])
    assert conditions["default"] == hold
    assert conditions["preProcessingError"] == hold
    assert conditions["fileUploadError"] == release  # exit 0, logs not uploaded: work done
    assert all("jobAction" not in options for options in [
        *(m["exitOptions"] for m in conditions["exitCodes"]), conditions["default"]
    ])  # fmt: skip


def test_stdout_and_stderr_are_uploaded_with_the_pool_identity() -> None:
    [body] = rest_body(10)
    uploads = body["outputFiles"]

    assert [upload["filePattern"] for upload in uploads] == ["../stdout.txt", "../stderr.txt"]
    for upload in uploads:
        container = upload["destination"]["container"]
        assert container["containerUrl"] == "https://logs.blob.core.windows.net/task-logs"
        assert container["identityReference"] == {"resourceId": IDENTITY}
        assert container["path"].startswith(f"job-1/{body['id']}/")
        assert upload["uploadOptions"] == {"uploadCondition": "taskcompletion"}


def test_merge_task_depends_on_its_shards() -> None:
    *shards, merge = rest_body(250)
    assert len(shards) == 3
    assert merge["dependsOn"] == {"taskIds": [shard["id"] for shard in shards]}
    assert all("dependsOn" not in shard for shard in shards)


def entrypoint(tmp_path: Path, *args: str, mounts: str | None) -> subprocess.CompletedProcess[str]:
    """Run the image's entry point with a `processor` that prints the arguments it got."""
    shim = tmp_path / "shim" / "processor"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / "__init__.py").write_text("", encoding="utf-8")
    (shim / "__main__.py").write_text(
        "import json, sys; print(json.dumps(sys.argv[1:]))", encoding="utf-8"
    )
    env = {"PATH": os.environ["PATH"], "PROCESSOR_PYTHON": sys.executable}
    env["PYTHONPATH"] = str(shim.parent)
    if mounts is not None:
        env["AZ_BATCH_NODE_MOUNTS_DIR"] = mounts
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_the_entry_point_resolves_paths_on_the_node_that_runs_the_task(tmp_path: Path) -> None:
    [body] = rest_body(10)
    # As Batch hands the command line over: split into words, no shell, no expansion.
    _, *args = shlex.split(body["commandLine"])

    run = entrypoint(tmp_path, *args, mounts="/mnt/other image/fsmounts")

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == [
        "extract",
        "/mnt/other image/fsmounts/data/raw/my drive.bag",
        "/mnt/other image/fsmounts/data/extracted",
        "--format",
        "csv",
    ]


def test_the_entry_point_refuses_mount_paths_off_batch(tmp_path: Path) -> None:
    run = entrypoint(tmp_path, "extract", "$AZ_BATCH_NODE_MOUNTS_DIR/data/raw/a.bag", "out",
                     mounts=None)  # fmt: skip
    assert run.returncode == 1
    assert "AZ_BATCH_NODE_MOUNTS_DIR is not set" in run.stderr
    # Paths that are not under the variable pass through untouched.
    plain = entrypoint(tmp_path, "info", "/data/a $b.bag", mounts=None)
    assert json.loads(plain.stdout) == ["info", "/data/a $b.bag"]
