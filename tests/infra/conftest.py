"""The `azure` fixture: an empty subscription that refuses what Azure refuses. (Each stack's
recording, `recordings`, is a session fixture in tests/conftest.py.)"""

from __future__ import annotations

import pytest

from tests.infra.azure_rules import Subscription


@pytest.fixture
def azure() -> Subscription:
    """An empty subscription that refuses what Azure refuses (tests/infra/azure_rules.py)."""
    return Subscription()
