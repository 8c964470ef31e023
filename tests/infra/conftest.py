"""The `azure` fixture: an empty subscription that refuses what Azure refuses. (Each stack's
recording, `recordings`, is a session fixture in tests/conftest.py.)"""

from __future__ import annotations

import sys

import pytest

import offline
from tests.infra.azure_rules import Subscription

# The offline engine's old module name, for tests/infra/test_data_factory.py alone, which other
# work is changing at the same time: it goes when that file imports `offline` itself.
sys.modules.setdefault("infra.offline", offline)


@pytest.fixture
def azure() -> Subscription:
    """An empty subscription that refuses what Azure refuses (tests/infra/azure_rules.py)."""
    return Subscription()
