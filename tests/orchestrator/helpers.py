"""Shared helpers for the orchestrator and e2e tests."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.orchestrator.fake_batch.state import python_here

REPO = Path(__file__).resolve().parents[2]
BAGS = REPO / "tests" / "data" / "bags"
FAKE_PROCESSOR = (sys.executable, str(Path(__file__).with_name("fake_processor.py")))
# Real bags that the processor extracts completely (empty-definition.bag is the negative one).
GOOD_BAGS = (
    "jackal-imu-odom.bag",
    "gps-navsatfix.bag",
    "turtlesim.bag",
    "custom-arrays.bag",
    "magnetic-temperature.bag",
    "ros2-mcap-basic",
    "ros2-sqlite3-custom",
)


def copy_bags(target: Path, names: Iterable[str]) -> Path:
    """Copy real test bags (files or ROS 2 folders) into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = BAGS / name
        if source.is_dir():
            shutil.copytree(source, target / name)
        else:
            shutil.copy2(source, target / name)
    return target


def touch_bags(target: Path, names: Iterable[str], size: int = 16) -> Path:
    """Empty stand-in bag files (for the fake processor, which only reads names)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * size)
    return target


def activity_document(**overrides: object) -> dict[str, Any]:
    """An activity.json as ADF writes it for the Custom activity (contracts §3)."""
    properties: dict[str, object] = {
        "inputPath": "raw/",
        "outputPath": "extracted/",
        "format": "csv",
        "runId": "8d6a1f0e-3b8b-4c4e-9a52-0c1d2e3f4a5b",
        "batchAccountEndpoint": "https://example.westeurope.batch.azure.com",
        "executionPoolId": "execution",
        "processorImage": "example.azurecr.io/processor:abc123",
        "registryServer": "example.azurecr.io",
        "executionIdentityResourceId": "/subscriptions/0000/resourceGroups/rg/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities/execution",
        "orchestratorIdentityClientId": "00000000-0000-0000-0000-000000000001",
        "mountPath": "data",
        "taskLogsContainerUrl": "https://examplebatch.blob.core.windows.net/task-logs",
        "keyVaultUri": "",
        "appInsightsSecretName": "",
        "timeoutMinutes": "10",
    }
    properties.update(overrides)
    return {
        "name": "extract",
        "type": "Custom",
        "typeProperties": {
            "command": "run-orchestrator extract --executor batch",
            "extendedProperties": properties,
        },
    }


def write_activity(folder: Path, **overrides: object) -> Path:
    path = folder / "activity.json"
    path.write_text(json.dumps(activity_document(**overrides)), encoding="utf-8")
    return path


def run_with_fake_processor(argv: list[str]) -> list[str]:
    """Command mapper for the fake Batch service: the image's entry point (the real script)
    then runs the fake processor, given fake_processor_environment() on the node."""
    return python_here(argv)


def fake_processor_environment() -> dict[str, str]:
    """On the fake execution node, `python -m processor` is the fake processor."""
    return {
        "PROCESSOR_PYTHON": sys.executable,
        "PYTHONPATH": f"{Path(__file__).with_name('fake_node')}:{REPO}",
    }


def execution_node(tmp_path: Path, orchestrator_mounts: Path) -> tuple[dict[str, str], Path]:
    """An execution node whose AZ_BATCH_NODE_MOUNTS_DIR differs from the orchestrator node's
    (their images differ), with the same data lake container mounted at `data`. Returns the
    node's Batch environment and its mounts folder."""
    mounts = tmp_path / "execution-node" / "fsmounts"
    mounts.mkdir(parents=True, exist_ok=True)
    (orchestrator_mounts / "data").mkdir(parents=True, exist_ok=True)
    (mounts / "data").symlink_to(orchestrator_mounts / "data", target_is_directory=True)
    return {"AZ_BATCH_NODE_MOUNTS_DIR": str(mounts)}, mounts


def run_with_true(argv: list[str]) -> list[str]:
    """Command mapper that finishes every task at once (request-count tests)."""
    return ["true"]
