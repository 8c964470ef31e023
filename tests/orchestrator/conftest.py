"""Fixtures: the fake Batch service, started and always stopped around a test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.orchestrator.fake_batch import FakeBatchService
from tests.orchestrator.helpers import (
    execution_node,
    fake_processor_environment,
    run_with_fake_processor,
)


@pytest.fixture
def fake_batch(tmp_path: Path) -> Iterator[FakeBatchService]:
    """A fake Batch service whose tasks run the fake processor on an execution node of their
    own: its mounts folder is not the orchestrator node's (`node`), which tasks cannot see."""
    orchestrator_mounts = tmp_path / "fsmounts"
    environment, _ = execution_node(tmp_path, orchestrator_mounts)
    with FakeBatchService(
        tmp_path,
        slots=4,
        command_mapper=run_with_fake_processor,
        node_environment={**environment, **fake_processor_environment()},
        foreign_paths=[orchestrator_mounts],
    ) as service:
        yield service


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An orchestrator node: a working directory, the NFS mount at AZ_BATCH_NODE_MOUNTS_DIR/data."""
    mounts = tmp_path / "fsmounts"
    (mounts / "data" / "raw").mkdir(parents=True)
    workdir = tmp_path / "wd"
    workdir.mkdir()
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(mounts))
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    monkeypatch.chdir(workdir)
    return mounts / "data"
