"""The batch executor via the real azure-batch SDK over HTTPS, against the fake Batch service."""

from __future__ import annotations

import datetime
import json
import os
import shlex
import signal
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from threading import Thread
from typing import Any

import pytest

from orchestrator.cli import main
from orchestrator.discovery import find_bags
from orchestrator.executors import Progress
from orchestrator.executors.batch import BatchExecutor, PollSchedule
from orchestrator.executors.batch_client import make_batch_client
from orchestrator.executors.batch_tasks import ContainerTaskSettings, container_task
from orchestrator.ids import job_id_for_run
from orchestrator.plan import Plan, PlanOptions, build_plan
from tests.orchestrator.fake_batch import FakeBatchService, FakeCredential, FakeTask
from tests.orchestrator.helpers import activity_document, run_with_true, touch_bags, write_activity

RUN_ID = activity_document()["typeProperties"]["extendedProperties"]["runId"]
JOB_ID = job_id_for_run(RUN_ID)
FAST = ["--poll-seconds", "0.05"]


def client_options(service: FakeBatchService) -> dict[str, Any]:
    return {"connection_verify": service.ca_file, "retry_backoff_factor": 0.01}


def run_activity(service: FakeBatchService, *extra: str) -> int:
    """Run the orchestrator as the ADF Custom activity would, against the fake service."""
    return main(
        ["extract", *FAST, *extra],
        credential=FakeCredential(),
        batch_client_options=client_options(service),
    )


def outputs() -> dict[str, Any]:
    return json.loads(Path("outputs.json").read_text(encoding="utf-8"))


def test_activity_extracts_every_bag_into_one_job(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["a.bag", "b.bag", "2026/c.mcap"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    assert run_activity(fake_batch) == 0

    assert fake_batch.requests["create_job"] == 1
    assert [job.id for job in fake_batch.state.jobs.values()] == [JOB_ID]
    for result in ("a", "b", "2026/c"):
        assert (node / "extracted" / result / "_SUCCESS").is_file()
    document = outputs()
    assert document["jobId"] == JOB_ID
    assert document["bags"] == {
        "total": 3, "succeeded": 3, "partial": 0, "failed": 0, "unchanged": 0, "not started": 0,
        "quarantined": 0, "waiting": 0, "busy": 0,
    }  # fmt: skip
    assert document["messages"] == 9
    assert document["files"] == 3  # one table per bag, as each manifest lists
    assert document["countsUnknown"] == 0


def test_tasks_are_container_tasks_on_the_mount(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["a.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    assert run_activity(fake_batch) == 0

    [job_body] = fake_batch.bodies["create_job"]
    assert job_body["usesTaskDependencies"] is True
    assert job_body["poolInfo"] == {"poolId": "execution"}
    [task] = fake_batch.bodies["add_tasks"][0]["value"]
    # The execution node's mounts folder is not the orchestrator node's (`node`): the paths
    # name the variable, which the image's entry point resolves on the node that runs the task.
    assert task["commandLine"] == (
        "/usr/local/bin/processor-entrypoint extract '$AZ_BATCH_NODE_MOUNTS_DIR/data/raw/a.bag' "
        "'$AZ_BATCH_NODE_MOUNTS_DIR/data/extracted' --format csv"
    )
    assert str(node) not in json.dumps(fake_batch.bodies["add_tasks"])
    assert task["containerSettings"]["imageName"] == "example.azurecr.io/processor:abc123"
    assert task["userIdentity"] == {"autoUser": {"scope": "pool", "elevationLevel": "admin"}}
    # The orchestrator ends the job itself once no failure is left to retry.
    assert job_body["onAllTasksComplete"] == "noaction"
    job = fake_batch.state.job(JOB_ID)
    assert job is not None and job.terminate_reason == "AllTasksComplete"


@pytest.mark.slow
def test_thousand_tasks_take_at_most_ten_requests(tmp_path: Path) -> None:
    bags = touch_bags(tmp_path / "data" / "raw", [f"bag-{i:04}.bag" for i in range(1000)])
    plan = plan_for(tmp_path / "data", "job-1000")
    assert len(plan.tasks) == 1000 and bags.is_dir()
    with FakeBatchService(tmp_path, slots=50, command_mapper=run_with_true) as service:
        execution = executor_for(service, poll=0.1).run(plan, lambda progress: None)

    assert service.requests["add_tasks"] <= 10
    assert sum(len(body["value"]) for body in service.bodies["add_tasks"]) == 1000
    assert len(execution.outcomes) == 1000
    assert all(outcome.exit_code == 0 for outcome in execution.outcomes.values())
    # The closing report lists tasks in pages of 1,000: one request.
    assert service.requests["list_tasks"] == 1


def task_settings() -> ContainerTaskSettings:
    return ContainerTaskSettings(
        image="example.azurecr.io/processor:abc123",
        registry_server="example.azurecr.io",
        execution_identity_resource_id="/subscriptions/0/resourceGroups/rg/providers/x/identity",
        mount_path="data",
        task_logs_container_url="https://logs.blob.core.windows.net/task-logs",
    )


def plan_for(data_root: Path, job_id: str) -> Plan:
    """The plan of every bag under `data_root`/raw, into extracted/."""
    bags = find_bags(data_root, PurePosixPath("raw"))
    return build_plan(job_id, PurePosixPath("raw"), PurePosixPath("extracted"), bags, PlanOptions())


def executor_for(
    service: FakeBatchService, *, timeout: float = 120, poll: float = 0.1, **options: Any
) -> BatchExecutor:
    """A batch executor on `service`, polling every `poll` seconds."""
    return BatchExecutor(
        make_batch_client(service.url, FakeCredential(), **client_options(service)),
        "execution",
        task_settings(),
        timeout_seconds=timeout,
        poll=PollSchedule(initial=poll, maximum=poll),
        **options,
    )


def once_a_task_runs(service: FakeBatchService, action: Callable[[FakeTask], None]) -> Thread:
    """Start a thread that does `action` to the first task seen running (join it after)."""

    def watch() -> None:
        for _ in range(500):
            running = [task for task in service.state.all_tasks() if task.state == "running"]
            if running:
                action(running[0])
                return
            time.sleep(0.01)

    thread = Thread(target=watch)
    thread.start()
    return thread


def test_polling_costs_one_request_per_poll(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["slow-1.bag", "slow-2.bag", "a.bag"])
    seen: list[Progress] = []
    executor = executor_for(fake_batch, timeout=1.5, poll=0.05)
    execution = executor.run(plan_for(node, "job-poll"), seen.append)

    assert execution.timed_out  # the slow bags outlive the timeout
    polls = len(seen)
    assert polls >= 5
    assert fake_batch.requests["task_counts"] == polls
    # Nothing else is requested per poll: setup and the closing report are a fixed handful.
    others = sum(fake_batch.requests.values()) - polls
    assert others <= 10, fake_batch.requests


def test_retried_activity_resumes_the_same_job(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["a.bag", "b.bag", "c.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)
    # A first attempt died after creating the job and adding one task.
    client = make_batch_client(fake_batch.url, FakeCredential(), **client_options(fake_batch))
    plan = plan_for(node, JOB_ID)
    from azure.batch import models

    client.create_job(
        models.BatchJobCreateOptions(
            id=JOB_ID,
            pool_info=models.BatchPoolInfo(pool_id="execution"),
            uses_task_dependencies=True,
        )
    )
    client.create_tasks(JOB_ID, [container_task(plan.tasks[0], task_settings(), JOB_ID)])
    fake_batch.wait_idle(JOB_ID)

    assert run_activity(fake_batch) == 0

    assert fake_batch.requests["create_job"] == 1  # only the first attempt's
    assert len(fake_batch.state.jobs) == 1
    added = [task["id"] for body in fake_batch.bodies["add_tasks"] for task in body["value"]]
    assert sorted(added) == sorted(task.id for task in plan.tasks)  # each task added once
    assert outputs()["bags"]["succeeded"] == 3


def test_finished_job_is_reported_not_rerun(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["a.bag", "b.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)
    assert run_activity(fake_batch) == 0
    fake_batch.wait_idle(JOB_ID)
    first = outputs()
    requests_before = dict(fake_batch.requests)

    assert run_activity(fake_batch, "--force") == 0  # even when asked to redo everything

    assert fake_batch.requests["create_job"] == requests_before["create_job"] == 1
    assert fake_batch.requests["add_tasks"] == requests_before["add_tasks"]
    assert outputs()["bags"] == first["bags"]


def test_a_failed_bag_is_reported_and_ends_the_activity_without_a_retry(
    fake_batch: FakeBatchService, node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    touch_bags(node / "raw", ["good.bag", "bad.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    # The run reported: the activity succeeds (a failed one would be retried by ADF and redo a
    # known verdict); the pipeline's Fail activity fails the run from outputs.json.
    assert run_activity(fake_batch) == 0

    err = capsys.readouterr().err
    assert "FAILED raw/bad.bag" in err
    assert "exit code 2" in err
    assert "is not a readable bag: bad header" in err
    document = outputs()
    assert document["succeeded"] is False
    [failed, good] = document["results"]
    assert failed["status"] == "failed" and failed["exitCode"] == 2
    assert failed["reason"].endswith("bad.bag is not a readable bag: bad header")
    assert good["status"] == "succeeded"
    assert document["message"].startswith("1 of 2 bags failed: raw/bad.bag: exit 2: ")
    assert document["message"].endswith("is not a readable bag: bad header")


def test_timeout_terminates_the_job(
    fake_batch: FakeBatchService, node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    touch_bags(node / "raw", ["slow.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    assert run_activity(fake_batch, "--timeout", "0.02") == 0  # reported: see outputs.json

    job = fake_batch.state.job(JOB_ID)
    assert job is not None
    assert job.state == "completed" and job.terminate_reason == "OrchestratorTimeout"
    assert fake_batch.requests["terminate_job"] == 1
    assert "TIMED OUT" in capsys.readouterr().err
    assert outputs()["timedOut"] is True
    assert outputs()["message"] == "timed out after 0.02 min: 1 of 1 bags not finished"


def test_transient_errors_are_retried(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["a.bag", "b.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)
    fake_batch.fail("create_job", 500)
    fake_batch.fail("add_tasks", 429, times=2)
    fake_batch.fail("task_counts", 503, times=2)
    fake_batch.fail("list_tasks", 429, retry_after=0.01)

    assert run_activity(fake_batch) == 0

    assert fake_batch.requests["create_job"] == 2
    assert fake_batch.requests["add_tasks"] == 3
    assert len(fake_batch.state.jobs) == 1
    assert outputs()["bags"]["succeeded"] == 2


def test_slow_responses_are_waited_for(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["a.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)
    fake_batch.slow("task_counts", 0.3)
    fake_batch.slow("add_tasks", 0.3)

    assert run_activity(fake_batch) == 0
    assert outputs()["bags"]["succeeded"] == 1


def test_activity_without_required_settings_is_refused(
    node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = activity_document()
    del document["typeProperties"]["extendedProperties"]["executionPoolId"]
    Path("activity.json").write_text(json.dumps(document), encoding="utf-8")

    assert main(["extract"], credential=FakeCredential()) == 2
    assert "executionPoolId" in capsys.readouterr().err


def test_large_bag_is_sharded_and_merged(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["big.bag"], size=3000)
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    # 1 KB shards (0.000001 GB): the 3,000-byte bag becomes 3 shard tasks and a merge.
    assert run_activity(fake_batch, "--shard-size-gb", "0.000001") == 0

    tasks = fake_batch.bodies["add_tasks"][0]["value"]
    shards = sorted(
        (task for task in tasks if "--shard " in task["commandLine"]),
        key=lambda task: task["commandLine"],
    )
    [merge] = [task for task in tasks if " merge " in task["commandLine"]]
    assert [task["commandLine"].split()[-1] for task in shards] == ["1/3", "2/3", "3/3"]
    assert sorted(merge["dependsOn"]["taskIds"]) == sorted(task["id"] for task in shards)
    assert merge["commandLine"].endswith("--shards 3")
    assert (node / "extracted" / "big" / "_SUCCESS").is_file()
    assert outputs()["messages"] == 3  # the fake merge writes one message per part


def test_run_by_hand_without_run_id_gets_a_job_per_request(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["a.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url, runId="")

    assert run_activity(fake_batch) == 0

    [job] = fake_batch.state.jobs.values()
    assert job.id == outputs()["jobId"]
    assert job.id.startswith("manual-raw-to-extracted-")


@pytest.mark.parametrize(
    ("operation", "status", "code"),
    [
        # A job of the same id being deleted answers 409 JobBeingDeleted, not JobExists: it is
        # not this run's job, and nothing may be added to it.
        ("create_job", 409, "JobBeingDeleted"),
        ("add_tasks", 403, "AuthorizationFailure"),
    ],
)
def test_a_refused_request_is_reported_in_one_line_and_in_outputs(
    fake_batch: FakeBatchService,
    node: Path,
    capsys: pytest.CaptureFixture[str],
    operation: str,
    status: int,
    code: str,
) -> None:
    touch_bags(node / "raw", ["a.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)
    fake_batch.fail(operation, status, code=code)

    assert run_activity(fake_batch) == 1  # not reported: ADF retries the activity

    err = capsys.readouterr().err
    assert "Traceback" not in err and code in err
    assert not fake_batch.state.all_tasks()
    document = outputs()
    assert document["succeeded"] is False
    assert code in document["error"]


def test_terminating_a_job_that_just_completed_still_reports(
    fake_batch: FakeBatchService, node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    touch_bags(node / "raw", ["slow.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)
    # The job completed between the last poll and the terminate request.
    fake_batch.fail("terminate_job", 409, code="JobCompleted")

    assert run_activity(fake_batch, "--timeout", "0.02") == 0

    assert "Traceback" not in capsys.readouterr().err
    assert outputs()["timedOut"] is True


def test_a_second_run_by_hand_extracts_the_bags_added_since(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["a.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url, runId="")
    assert run_activity(fake_batch) == 0
    first = outputs()["jobId"]
    fake_batch.wait_idle(first)
    touch_bags(node / "raw", ["b.bag"])

    assert run_activity(fake_batch) == 0

    document = outputs()
    assert document["jobId"] != first
    assert document["bags"]["succeeded"] == 1 and document["bags"]["unchanged"] == 1
    assert (node / "extracted" / "b" / "_SUCCESS").is_file()


def attempts(service: FakeBatchService) -> dict[str, int]:
    """How many times each task's process was started, by its command line's bag name."""
    found: dict[str, int] = {}
    for task in service.state.all_tasks():
        words = shlex.split(task.body["commandLine"])  # entry point, command, bag, ...
        kind = "merge" if "merge" in words else "shard" if "--shard" in words else "extract"
        name = Path(words[2]).stem
        key = f"{name}:{kind}" + (f":{words[-1]}" if kind == "shard" else "")
        found[key] = task.attempts
    return found


def test_verdicts_are_not_retried(fake_batch: FakeBatchService, node: Path) -> None:
    touch_bags(node / "raw", ["bad.bag", "partial.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    run_activity(fake_batch)

    # Exit 2 (bad input) and 3 (partial) are the bag's verdict: running again gives the same.
    assert attempts(fake_batch) == {"bad:extract": 1, "partial:extract": 1}
    statuses = {entry["bag"]: entry["status"] for entry in outputs()["results"]}
    assert statuses == {"raw/bad.bag": "failed", "raw/partial.bag": "partial"}
    [task] = [t for t in fake_batch.bodies["add_tasks"][0]["value"] if "bad" in t["id"]]
    assert task["constraints"]["maxTaskRetryCount"] == 0


def test_a_transient_failure_is_retried_and_the_bag_succeeds(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["flaky.bag", "a.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    assert run_activity(fake_batch) == 0

    assert attempts(fake_batch) == {"flaky:extract": 2, "a:extract": 1}
    assert outputs()["bags"]["succeeded"] == 2


def test_a_transient_shard_failure_holds_its_merge_until_the_retry(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["big-flaky.bag"], size=3000)
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    assert run_activity(fake_batch, "--shard-size-gb", "0.000001") == 0

    assert attempts(fake_batch) == {
        "big-flaky:shard:1/3": 2, "big-flaky:shard:2/3": 2, "big-flaky:shard:3/3": 2,
        "big-flaky:merge": 1,
    }  # fmt: skip
    assert (node / "extracted" / "big-flaky" / "_SUCCESS").is_file()


def test_a_task_that_keeps_failing_is_retried_twice_then_reported(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["crash.bag"])
    touch_bags(node / "raw", ["big-crash.bag"], size=2000)
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    run_activity(fake_batch, "--shard-size-gb", "0.000001", "--timeout", "1")

    found = attempts(fake_batch)
    assert found["crash:extract"] == 3  # the first run and two retries
    assert found["big-crash:shard:1/2"] == found["big-crash:shard:2/2"] == 3
    assert found["big-crash:merge"] == 0  # its shards never succeeded: it never ran
    document = outputs()
    assert document["timedOut"] is False  # the blocked merge did not hold the run
    failed = {entry["bag"]: entry for entry in document["results"]}
    assert failed["raw/crash.bag"]["exitCode"] == 1
    assert "-s1" in failed["raw/big-crash.bag"]["failedTask"]  # the shard explains it


def test_an_adf_retry_of_the_activity_grants_no_fresh_reactivations(
    fake_batch: FakeBatchService, node: Path
) -> None:
    """ADF retries the activity (policy.retry) with a new orchestrator that resumes the same
    job; the reactivations of the first attempt still count (kept in the job's metadata)."""
    touch_bags(node / "raw", ["crash.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)
    # The first attempt cannot end its job (it died before, as far as Batch can tell).
    fake_batch.fail("terminate_job", 500, times=100)
    run_activity(fake_batch)
    assert attempts(fake_batch)["crash:extract"] == 3  # the first run and two retries
    assert fake_batch.state.jobs[JOB_ID.lower()].state == "active"

    run_activity(fake_batch)  # ADF's retry of the activity

    assert attempts(fake_batch)["crash:extract"] == 3  # no fresh allowance
    assert outputs()["results"][0]["exitCode"] == 1


def test_a_requeued_task_runs_again_and_is_not_counted_as_a_retry(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["pause.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    preempting = once_a_task_runs(fake_batch, lambda t: fake_batch.state.requeue(t.job_id, t.id))
    code = run_activity(fake_batch)
    preempting.join()

    assert code == 0
    [task] = fake_batch.state.all_tasks()
    assert task.attempts == 2 and task.requeue_count == 1
    assert (node / "extracted" / "pause" / "_SUCCESS").is_file()


class OrchestratorDied(BaseException):
    """Stands in for the orchestrator process being killed (ADF cancelled the run)."""


def test_a_job_whose_orchestrator_dies_is_ended_by_batch(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["slow.bag"])
    polls: list[float] = []

    def sleep_then_die(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 3:
            raise OrchestratorDied  # no signal, no cleanup: SIGKILL
        time.sleep(seconds)

    executor = executor_for(
        fake_batch, poll=0.3, sleep=sleep_then_die, lease=datetime.timedelta(seconds=2)
    )
    with pytest.raises(OrchestratorDied):
        executor.run(plan_for(node, "job-orphan"), lambda progress: None)

    # Nobody renews the job's lease (its maxWallClockTime) any more: Batch ends it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        job = fake_batch.state.job("job-orphan")
        if job is not None and job.state == "completed":
            break
        time.sleep(0.1)
    job = fake_batch.state.job("job-orphan")
    assert job is not None and job.terminate_reason == "MaxWallClockTimeExpiry"
    assert all(task.state == "completed" for task in job.tasks.values())


def test_a_living_orchestrator_keeps_its_job_past_the_lease(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["pause-1.bag", "pause-2.bag", "pause-3.bag", "pause-4.bag"])
    fake_batch.state.slots = 1  # four 1 s tasks one after the other: 4 s, twice the lease
    executor = executor_for(fake_batch, poll=0.2, lease=datetime.timedelta(seconds=2))

    execution = executor.run(plan_for(node, "job-leased"), lambda progress: None)

    assert not execution.timed_out
    assert all(outcome.exit_code == 0 for outcome in execution.outcomes.values())
    job = fake_batch.state.job("job-leased")
    assert job is not None and job.terminate_reason == "AllTasksComplete"


def test_sigterm_ends_the_job_and_still_reports(
    fake_batch: FakeBatchService, node: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    touch_bags(node / "raw", ["slow.bag"])
    write_activity(Path.cwd(), batchAccountEndpoint=fake_batch.url)

    cancelling = once_a_task_runs(fake_batch, lambda task: os.kill(os.getpid(), signal.SIGTERM))
    code = run_activity(fake_batch)
    cancelling.join()

    assert code == 1
    job = fake_batch.state.job(JOB_ID)
    assert job is not None and job.terminate_reason == "OrchestratorStopped"
    assert "Traceback" not in capsys.readouterr().err
    assert "SIGTERM" in outputs()["error"]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # handlers are put back


def test_a_job_ended_by_someone_else_is_reported_not_waited_for(
    fake_batch: FakeBatchService, node: Path
) -> None:
    touch_bags(node / "raw", ["slow-1.bag", "slow-2.bag", "slow-3.bag"])
    fake_batch.state.slots = 1  # two tasks stay active, never run

    def terminate_its_job(task: FakeTask) -> None:
        job = fake_batch.state.job(task.job_id)
        assert job is not None
        fake_batch.state.terminate(job, "ops run timed out")

    ending = once_a_task_runs(fake_batch, terminate_its_job)
    executor = executor_for(fake_batch, timeout=60, lease=datetime.timedelta(seconds=1))
    execution = executor.run(plan_for(node, "job-ended"), lambda progress: None)
    ending.join()

    assert not execution.timed_out
    assert "terminateReason: ops run timed out" in execution.ended
