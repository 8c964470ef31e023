"""Fixtures more than one test folder uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from offline import Recording


@pytest.fixture(scope="session")
def recordings() -> dict[str, Recording]:
    """Each stack's program, run once per session under the offline mocks (a fresh run per test
    would cost ~1 s each for the same answer); tests assert on the recordings."""
    from offline import run_stack, stack_names  # Pulumi: imported only by the tests that use it

    return {stack: run_stack(stack) for stack in stack_names()}
