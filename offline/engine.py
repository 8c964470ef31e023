"""Running the real program, or a single component, under the offline mocks.

Every run starts from fresh Pulumi runtime state, so runs are independent; they are not
thread-safe (the SDK keeps its settings in process-wide context variables). What this needs of
the SDK's private internals is in infra/pulumi_internals.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import Stack, run_pulumi_func

from infra.pulumi_internals import forget_root_stack, reset_runtime, run_to_completion
from offline.mocks import OfflineMocks
from offline.recording import (
    RecordedResource,
    Recording,
    RecordingMonitor,
    StackOutput,
    unwrap_secrets,
)
from offline.stack_files import REPO_ROOT, load_stack_config, project_name, with_overrides


def run_stack(
    stack: str,
    *,
    project_dir: Path = REPO_ROOT,
    config_overrides: Mapping[str, Any] | None = None,
    program: Callable[[], None] | None = None,
    recorded: list[RecordedResource] | None = None,
    mocks: Callable[[str], OfflineMocks] = OfflineMocks,
) -> Recording:
    """Run the program for `stack` under the offline mocks and return what it declared.

    `config_overrides` (bare project keys or `namespace:key`, `None` removes a key) let tests
    try bad values. Pass `recorded` to see what was declared even when the program raises, and
    `mocks` (a subclass of OfflineMocks, given the stack's location) to answer differently.
    """
    project = project_name(project_dir)
    config = with_overrides(load_stack_config(stack, project_dir), project, config_overrides or {})
    if program is None:
        from infra.program import main as program

    monitor = use_mocks(
        config.get("azure-native:location", ""), recorded, project, stack, config, mocks
    )
    root = pulumi_settings.get_root_resource()
    assert isinstance(root, Stack)
    outputs: dict[str, StackOutput] = {}

    async def body() -> None:
        program()
        for name, value in root.outputs.items():
            output = pulumi.Output.from_input(value)
            resolved = await output.future(with_unknowns=True)
            outputs[name] = StackOutput(unwrap_secrets(resolved)[0], await output.is_secret())

    reset_runtime()
    try:
        run_to_completion(run_pulumi_func(body))
    finally:
        forget_root_stack()
    return Recording(
        project=project,
        stack=stack,
        config=dict(config),
        resources=tuple(monitor.recorded),
        outputs=outputs,
    )


def use_mocks(
    location: str = "westeurope",
    recorded: list[RecordedResource] | None = None,
    project: str = "project",
    stack: str = "stack",
    config: Mapping[str, str] | None = None,
    mocks: Callable[[str], OfflineMocks] = OfflineMocks,
) -> RecordingMonitor:
    """Answer every registration from now on with the offline mocks, recording each one.

    `run_stack` uses it for a whole program; a test of one component calls it first and then
    declares the component in a `@pulumi.runtime.test` (which resets the rest of the runtime).
    """
    monitor = RecordingMonitor(mocks(location), recorded if recorded is not None else [])
    forget_root_stack()  # a fresh root stack for this run
    pulumi.runtime.set_all_config(dict(config or {}), secret_keys=[])
    pulumi.runtime.set_mocks(
        monitor.mocks, project=project, stack=stack, preview=False, monitor=monitor
    )
    return monitor
