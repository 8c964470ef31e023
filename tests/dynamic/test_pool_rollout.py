"""The pool rollout provider as plain Python against the fake Batch data plane."""

from __future__ import annotations

from typing import Any

from infra.dynamic import pool_rollout as pr
from tests.dynamic.fake_arm import FakeArm
from tests.dynamic.helpers import up

POOL = "orchestrator"


def _props(fake: FakeArm, version: str) -> dict[str, Any]:
    return pr.rollout_props(
        pr.PoolRolloutArgs(
            batch_account_endpoint=fake.base_url, pool_id=POOL, package_version=version
        )
    )


def test_a_new_version_restarts_idle_and_busy_nodes_after_their_tasks(fake_arm: FakeArm) -> None:
    fake_arm.pools[POOL] = {}
    provider = pr.PoolRolloutProvider()
    outs = provider.create(_props(fake_arm, "v1")).outs or {}
    assert outs["restarted_nodes"] == []  # a new pool has no nodes yet

    fake_arm.pools[POOL] = {"tvm-1": "idle", "tvm-2": "running", "tvm-3": "starting"}
    outs = up(provider, outs, _props(fake_arm, "v2"))

    assert sorted(outs["restarted_nodes"]) == ["tvm-1", "tvm-2"]
    assert sorted(fake_arm.reboots) == [
        (POOL, "tvm-1", "taskcompletion"),
        (POOL, "tvm-2", "taskcompletion"),
    ]
    # A node that is still starting installs the pool's current packages anyway.
    assert fake_arm.pools[POOL]["tvm-3"] == "starting"


def test_the_same_version_restarts_nothing(fake_arm: FakeArm) -> None:
    fake_arm.pools[POOL] = {"tvm-1": "idle"}
    provider = pr.PoolRolloutProvider()
    outs = provider.create(_props(fake_arm, "v1")).outs or {}
    fake_arm.pools[POOL]["tvm-1"] = "idle"
    fake_arm.clear_calls()

    assert up(provider, outs, _props(fake_arm, "v1")) == outs
    assert fake_arm.calls == []


def test_a_node_that_changed_state_meanwhile_is_skipped(fake_arm: FakeArm) -> None:
    fake_arm.pools[POOL] = {"tvm-1": "idle"}
    original = fake_arm._list_nodes

    def list_then_node_leaves(pool: str, body: Any, **kwargs: str) -> tuple[int, Any]:
        listed = original(pool=pool, body=body, **kwargs)
        fake_arm.pools[POOL]["tvm-1"] = "leavingpool"
        return listed

    fake_arm._list_nodes = list_then_node_leaves
    outs = pr.PoolRolloutProvider().create(_props(fake_arm, "v1")).outs or {}
    assert outs["restarted_nodes"] == []


def test_a_pool_that_does_not_exist_yet_needs_nothing(fake_arm: FakeArm) -> None:
    outs = pr.PoolRolloutProvider().create(_props(fake_arm, "v1")).outs or {}
    assert outs["restarted_nodes"] == []
