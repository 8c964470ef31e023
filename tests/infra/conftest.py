"""Each stack's program is run once per session under the offline mocks; tests assert on the
recordings (a fresh run per test would cost ~1 s each for the same answer)."""

from __future__ import annotations

import pytest

from infra.offline import Recording, run_stack, stack_names
from tests.infra.azure_rules import Subscription


@pytest.fixture(scope="session")
def recordings() -> dict[str, Recording]:
    return {stack: run_stack(stack) for stack in stack_names()}


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Subscription:
    """An empty subscription that refuses what Azure refuses (tests/infra/azure_rules.py)."""
    return Subscription(monkeypatch=monkeypatch)
