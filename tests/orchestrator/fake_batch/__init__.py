"""A stateful fake of the Azure Batch data-plane service for tests (importable as a library)."""

from tests.orchestrator.fake_batch.server import API_VERSION, FakeBatchService, FakeCredential
from tests.orchestrator.fake_batch.state import FakeBatchState, FakeJob, FakeTask

__all__ = [
    "API_VERSION",
    "FakeBatchService",
    "FakeBatchState",
    "FakeCredential",
    "FakeJob",
    "FakeTask",
]
