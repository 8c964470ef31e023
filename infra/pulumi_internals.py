"""Every use of the Pulumi Python SDK's private internals, in one file.

The SDK has no public way to do these four things, so they reach into modules it may move in
any release. `tests/infra/test_pulumi_internals.py` pins each one: after an SDK upgrade, that
test fails first, naming the one that moved, and this file is the only one to change.

- `project_config`: `pulumi up` runs it (infra/config.py): it lists the project's config keys,
  so that an unknown key (a typo) is refused instead of ignored.
- `reset_runtime`, `forget_root_stack` and `run_to_completion`: only the offline engine
  (offline/engine.py) calls them, to run the program under mocks more than once in one process,
  as the SDK's own `pulumi.runtime.test` does (pulumi/runtime/mocks.py). They live here, not in
  offline/, so that one file holds every coupling to check on an upgrade.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.sync_await import _sync_await

T = TypeVar("T")


def project_config(project: str) -> dict[str, str]:
    """Every `<project>:*` value the engine handed the program, keyed without the namespace.

    `pulumi.Config.get` reads two sources, and so does this: the in-process map that
    `set_all_config` fills (the private `CONFIG` context variable) and the PULUMI_CONFIG
    environment variable. Structured values come back as the JSON text the CLI passes.
    """
    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{project}:"
    return {
        key[len(prefix) :]: value if isinstance(value, str) else json.dumps(value)
        for key, value in merged.items()
        if key.startswith(prefix)
    }


def forget_root_stack() -> None:
    """Drop the root stack resource, so that the next `set_mocks` makes a fresh one."""
    runtime_settings.ROOT.set(None)


def reset_runtime() -> None:
    """No RPC and no output left over from an earlier run (as `pulumi.runtime.test` does).

    SETTINGS's attributes are context properties the type checker cannot see.
    """
    settings: Any = runtime_settings.SETTINGS
    settings.rpc_manager.clear()
    settings.outputs.clear()


def run_to_completion(awaitable: Awaitable[T]) -> T:
    """Wait for `awaitable` on the SDK's own event loop (the one its Outputs resolve on)."""
    return _sync_await(awaitable)
