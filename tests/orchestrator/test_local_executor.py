"""The local executor: parallel processes, shards before merge, failures and timeouts."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from orchestrator.discovery import find_bags
from orchestrator.executors import Progress
from orchestrator.executors.local import LocalExecutor
from orchestrator.plan import Plan, PlanOptions, build_plan
from tests.orchestrator.helpers import FAKE_PROCESSOR, touch_bags


def plan_for(root: Path, options: PlanOptions | None = None) -> Plan:
    bags = find_bags(root, PurePosixPath("raw"))
    return build_plan(
        "job", PurePosixPath("raw"), PurePosixPath("out"), bags, options or PlanOptions()
    )


def executor(root: Path, timeout: float | None = None) -> LocalExecutor:
    return LocalExecutor(
        root, root / "logs", workers=2, timeout_seconds=timeout, processor_command=FAKE_PROCESSOR
    )


def test_runs_every_task_and_reports_progress(tmp_path: Path) -> None:
    touch_bags(tmp_path / "raw", ["a.bag", "b.bag", "c.bag"])
    seen: list[Progress] = []

    execution = executor(tmp_path).run(plan_for(tmp_path), seen.append)

    assert [outcome.exit_code for outcome in execution.outcomes.values()] == [0, 0, 0]
    assert all((tmp_path / "out" / name / "_SUCCESS").is_file() for name in "abc")
    assert seen[-1] == Progress(total=3, active=0, running=0, succeeded=3, failed=0)
    assert max(progress.running for progress in seen) <= 2
    assert not (tmp_path / "logs").exists()  # nothing worth keeping


def test_merge_runs_after_all_shards(tmp_path: Path) -> None:
    touch_bags(tmp_path / "raw", ["big.bag"], size=300)
    plan = plan_for(tmp_path, PlanOptions(shard_size_bytes=100))

    execution = executor(tmp_path).run(plan, lambda progress: None)

    # The fake merge fails (exit 2) unless every part was there when it ran.
    assert execution.outcomes[plan.bags[0].final_task_id].exit_code == 0
    assert (tmp_path / "out" / "big" / "_SUCCESS").is_file()


def test_failure_keeps_exit_code_and_stderr(tmp_path: Path) -> None:
    touch_bags(tmp_path / "raw", ["bad.bag", "partial.bag"])
    plan = plan_for(tmp_path)

    outcomes = executor(tmp_path).run(plan, lambda progress: None).outcomes

    bad, partial = (outcomes[bag.final_task_id] for bag in plan.bags)
    assert bad.exit_code == 2 and not bad.succeeded
    assert "bad.bag is not a readable bag: bad header" in bad.stderr_tail
    assert partial.exit_code == 3 and partial.succeeded
    assert (tmp_path / "logs" / f"{bad.task_id}.stderr.txt").is_file()


def test_failed_shard_still_lets_the_merge_report_the_missing_part(tmp_path: Path) -> None:
    touch_bags(tmp_path / "raw", ["crash.bag"], size=300)
    plan = plan_for(tmp_path, PlanOptions(shard_size_bytes=100))

    outcomes = executor(tmp_path).run(plan, lambda progress: None).outcomes

    assert len(outcomes) == 4  # three shards and the merge all ran to an end
    assert outcomes[plan.bags[0].final_task_id].exit_code is not None


def test_timeout_stops_running_processes(tmp_path: Path) -> None:
    touch_bags(tmp_path / "raw", ["slow-1.bag", "slow-2.bag", "slow-3.bag"])

    execution = executor(tmp_path, timeout=0.5).run(plan_for(tmp_path), lambda progress: None)

    assert execution.timed_out
    reasons = sorted(outcome.reason for outcome in execution.outcomes.values())
    assert reasons == [
        "not started: the run timed out",
        "stopped: the run timed out",
        "stopped: the run timed out",
    ]


def test_a_task_waiting_for_a_task_outside_the_plan_is_an_error(tmp_path: Path) -> None:
    touch_bags(tmp_path / "raw", ["big.bag"], size=300)
    plan = plan_for(tmp_path, PlanOptions(shard_size_bytes=100))
    broken = Plan(**{**plan.__dict__, "tasks": plan.tasks[1:]})  # a shard went missing

    with pytest.raises(ValueError, match="wait for tasks not in the plan"):
        executor(tmp_path).run(broken, lambda progress: None)
