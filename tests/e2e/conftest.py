"""The fake Batch service running the real processor, and Azurite for the end-to-end runs whose
lake is in (emulated) Blob storage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dynamic.conftest import azurite, loopback_ca
from tests.orchestrator.fake_batch import FakeBatchService
from tests.orchestrator.helpers import execution_node

__all__ = ["azurite", "batch", "loopback_ca"]


@pytest.fixture
def batch(tmp_path: Path) -> Iterator[FakeBatchService]:
    # Tasks run the real processor through the image's entry point, on an execution node whose
    # mounts folder is not the orchestrator node's.
    mounts = tmp_path / "fsmounts"
    environment, _ = execution_node(tmp_path, mounts)
    with FakeBatchService(
        tmp_path, slots=2, node_environment=environment, foreign_paths=[mounts]
    ) as service:
        yield service
