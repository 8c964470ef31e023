"""Fixtures: the fake Batch service, started and always stopped around a test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.orchestrator.fake_batch import FakeBatchService
from tests.orchestrator.helpers import run_with_fake_processor


@pytest.fixture
def fake_batch(tmp_path: Path) -> Iterator[FakeBatchService]:
    """A fake Batch service whose tasks run the fake processor."""
    with FakeBatchService(tmp_path, slots=4, command_mapper=run_with_fake_processor) as service:
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
