"""infra/pulumi_internals.py: each private piece of the Pulumi SDK we use still exists and still
does what we rely on. When one of these fails after an SDK upgrade, that file is the one place
to change (and `pulumi up` itself depends only on the first)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextvars import ContextVar

import pulumi
import pytest
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings as runtime_settings

from infra import pulumi_internals


@pytest.fixture
def clean_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    saved = runtime_config.CONFIG.get()
    yield
    runtime_config.CONFIG.set(saved)


def test_the_private_names_are_where_we_reach_for_them() -> None:
    assert isinstance(runtime_config.CONFIG, ContextVar)
    assert isinstance(runtime_settings.ROOT, ContextVar)
    settings = runtime_settings.SETTINGS
    assert callable(settings.rpc_manager.clear)  # pyright: ignore[reportAttributeAccessIssue]
    assert callable(settings.outputs.clear)  # pyright: ignore[reportAttributeAccessIssue]


def test_project_config_lists_every_key_set_all_config_gave_the_program(clean_config: None) -> None:
    pulumi.runtime.set_all_config(
        {"rosbag-batch:typoKey": "1", "rosbag-batch:list": '["a"]', "other:key": "x"}
    )
    assert pulumi_internals.project_config("rosbag-batch") == {"typoKey": "1", "list": '["a"]'}


def test_project_config_reads_the_environment_the_cli_sets_too(
    clean_config: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    pulumi.runtime.set_all_config({})
    monkeypatch.setenv(
        "PULUMI_CONFIG", json.dumps({"rosbag-batch:scheduleInterval": 3, "rosbag-batch:a": "b"})
    )
    assert pulumi_internals.project_config("rosbag-batch") == {"scheduleInterval": "3", "a": "b"}


def test_forget_root_stack_clears_the_root_resource() -> None:
    marker = object()
    runtime_settings.ROOT.set(marker)  # type: ignore[arg-type]
    pulumi_internals.forget_root_stack()
    assert pulumi.runtime.get_root_resource() is None


def test_reset_runtime_drops_outputs_left_by_an_earlier_run() -> None:
    settings = runtime_settings.SETTINGS
    outputs = settings.outputs  # pyright: ignore[reportAttributeAccessIssue]
    outputs.add("left over")
    pulumi_internals.reset_runtime()
    assert len(outputs) == 0


def test_run_to_completion_waits_on_the_sdks_loop() -> None:
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert pulumi_internals.run_to_completion(answer()) == 42
