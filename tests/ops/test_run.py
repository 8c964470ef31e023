"""`python -m ops run` end to end against the loopback TLS fake of Data Factory and Batch: the
real azure-mgmt-datafactory and azure-batch clients, the real CLI, only the services are fake."""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import trustme

from ops.cli import main
from orchestrator.adf import outputs_document
from orchestrator.ids import job_id_for_run
from orchestrator.outcome import BagResult, BagStatus, OutputCounts, TaskOutcome
from tests.ops.adf_pipeline import CustomRun
from tests.ops.fake_azure import (
    BATCH_BUSY,
    BATCH_FORBIDDEN,
    RUN_ID,
    BatchFault,
    FakeAzure,
    Phase,
    Scenario,
    serve_fake_azure,
)
from tests.ops.helpers import RecordingCredential, declared_pipeline, stack_outputs

STDOUT_URL = "https://stbatchrosbagdev.blob.core.windows.net/adfjobs/c0ffee/output/stdout.txt"
STDERR_URL = "https://stbatchrosbagdev.blob.core.windows.net/adfjobs/c0ffee/output/stderr.txt"
JOB_ID = job_id_for_run(RUN_ID)


def custom_output(*results: BagResult) -> dict[str, Any]:
    """outputs.json exactly as the orchestrator writes it (the contract, from its own code)."""
    return outputs_document(JOB_ID, "extracted/", list(results), timed_out=False)


def bag(name: str, status: BagStatus, topics: int, messages: int) -> BagResult:
    stem = name.removesuffix(".bag")
    return BagResult(
        bag=PurePosixPath(f"raw/{name}"),
        status=status,
        output=PurePosixPath(f"extracted/{stem}"),
        counts=OutputCounts(topics=topics, messages=messages, files=topics + 2),
        seconds=12.5,
    )


SUCCESS = Scenario(
    phases=[
        Phase("Queued"),
        Phase("InProgress", "Queued"),
        Phase("InProgress", "InProgress"),
        Phase("InProgress", "InProgress", {"active": 3, "running": 1}),
        Phase("InProgress", "InProgress", {"running": 2, "succeeded": 2}),
        Phase("Succeeded", "Succeeded", {"succeeded": 4}),
    ],
    activity_output={
        "exitcode": 0,
        "outputs": [STDOUT_URL, STDERR_URL],
        "customOutput": custom_output(
            bag("jackal-imu-odom.bag", BagStatus.SUCCEEDED, 2, 12046),
            bag("ros2-mcap-basic", BagStatus.PARTIAL, 3, 30),
        ),
    },
)

BROKEN_TASK = "extract-raw-broken-bag-1a2b3c4d5e"
FAILED = Scenario(
    phases=[
        Phase("InProgress", "InProgress", {"running": 2}),
        Phase("Failed", "Failed", {"succeeded": 1, "failed": 1}),
    ],
    activity_output={
        "exitcode": 1,
        "outputs": [STDOUT_URL, STDERR_URL],
        "customOutput": custom_output(
            bag("turtlesim.bag", BagStatus.SUCCEEDED, 4, 1800),
            BagResult(
                bag=PurePosixPath("raw/broken.bag"),
                status=BagStatus.FAILED,
                output=PurePosixPath("extracted/broken"),
                counts=OutputCounts(),
                failed_task=TaskOutcome(
                    BROKEN_TASK, 2, stderr_tail="reading\nnot a ROS bag (bad magic)\n"
                ),
            ),
        ),
    },
    activity_error={
        "errorCode": "2500",
        "message": "1 of 2 bags failed: raw/broken.bag: exit 2: not a ROS bag (bad magic)",
        "failureType": "UserError",
        "target": "extract-bags",
    },
    pipeline_message="Operation on target extract-bags failed: 1 of 2 bags failed",
)

STUCK = Scenario(phases=[Phase("InProgress", "InProgress", {"active": 5, "running": 1})])


@pytest.fixture
def credential() -> RecordingCredential:
    return RecordingCredential()


@pytest.fixture
def fake(
    request: pytest.FixtureRequest, fake_ca: trustme.CA, trust_fake_ca: Path
) -> Iterator[FakeAzure]:
    with serve_fake_azure(request.param, fake_ca) as fake:
        yield fake


def run_ops(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path, *extra: str
) -> tuple[int, str, str]:
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(stack_outputs(fake.base_url)), encoding="utf-8")
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = [
        "run",
        "--stack-outputs",
        str(outputs_file),
        "--arm-endpoint",
        fake.base_url,
        "--poll-interval",
        "0.02",
        *extra,
    ]
    code = main(argv, credential=credential, stdout=stdout, stderr=stderr)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize("fake", [SUCCESS], indirect=True)
def test_success_prints_bags_outputs_and_links(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, err = run_ops(fake, credential, tmp_path)

    assert code == 0, err + out
    assert f"Pipeline run {RUN_ID} succeeded after 0:04:12" in out
    assert f"Batch job   {JOB_ID}: tasks 4/4 done (0 failed)" in out
    bag_rows = [line.split() for line in out.splitlines() if "-> https:" in line]
    assert bag_rows == [
        ["succeeded", "2", "12,046", "raw/jackal-imu-odom.bag", "->",
         "https://dlrosbagdev.blob.core.windows.net/data/extracted/jackal-imu-odom/"],
        ["partial", "3", "30", "raw/ros2-mcap-basic", "->",
         "https://dlrosbagdev.blob.core.windows.net/data/extracted/ros2-mcap-basic/"],
    ]  # fmt: skip
    assert ["total", "5", "12,076"] in [line.split() for line in out.splitlines()]
    factory = (
        "%2Fsubscriptions%2F00000000-1111-2222-3333-444444444444%2FresourceGroups%2Frg-rosbag-dev"
        "%2Fproviders%2FMicrosoft.DataFactory%2Ffactories%2Fadf-rosbag-dev"
    )
    assert f"https://adf.azure.com/en/monitoring/pipelineruns/{RUN_ID}?factory={factory}" in out
    assert STDOUT_URL in out and STDERR_URL in out
    assert (
        "https://portal.azure.com/#resource/subscriptions/00000000-1111-2222-3333-444444444444"
        f"/resourceGroups/rg-rosbag-dev/providers/Microsoft.Batch/batchAccounts/batchrosbagdev"
        f" (Jobs > {JOB_ID})"
    ) in out


@pytest.mark.parametrize("fake", [SUCCESS], indirect=True)
def test_progress_shows_each_change_of_status_and_task_counts(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    _, _, err = run_ops(fake, credential, tmp_path)

    progress = [line.split("] ", 1)[1] for line in err.splitlines() if line.startswith("[")]
    assert [line.split(" | ") for line in progress] == [
        ["pipeline Queued"],
        ["pipeline InProgress", "extract-bags Queued", f"job {JOB_ID} not created yet"],
        ["pipeline InProgress", "extract-bags InProgress", f"job {JOB_ID} not created yet"],
        ["pipeline InProgress", "extract-bags InProgress",
         "tasks 0/4 done (0 failed), 1 running, 3 waiting"],
        ["pipeline InProgress", "extract-bags InProgress",
         "tasks 2/4 done (0 failed), 2 running, 0 waiting"],
        ["pipeline Succeeded", "extract-bags Succeeded",
         "tasks 4/4 done (0 failed), 0 running, 0 waiting"],
    ]  # fmt: skip
    assert err.splitlines()[0].startswith(f"Started extract-bags run {RUN_ID} in adf-rosbag-dev")


@pytest.mark.parametrize("fake", [SUCCESS], indirect=True)
def test_starts_the_pipeline_with_the_stack_paths_and_given_parameters(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, _, _ = run_ops(
        fake, credential, tmp_path, "--format", "parquet", "--parameter", "inputPath=raw/2026/"
    )

    assert code == 0
    [create] = [r for r in fake.requests if r.path.endswith("/createRun")]
    assert create.path == (
        "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-rosbag-dev"
        "/providers/Microsoft.DataFactory/factories/adf-rosbag-dev/pipelines/extract-bags/createRun"
    )
    assert create.body == {
        "inputPath": "raw/2026/",
        "outputPath": "extracted/",
        "format": "parquet",
    }
    assert create.query["api-version"] == ["2018-06-01"]


@pytest.mark.parametrize("fake", [SUCCESS], indirect=True)
def test_processor_options_are_sent_as_the_pipeline_types_them(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, _, err = run_ops(
        fake,
        credential,
        tmp_path,
        "--parameter",
        "sliceStart=+10",
        "--parameter",
        "syncReference=/camera",
        "--parameter",
        "syncWith=/imu,/gps",
        "--parameter",
        "video=TRUE",
    )

    assert code == 0, err
    [create] = [r for r in fake.requests if r.path.endswith("/createRun")]
    assert create.body == {
        "inputPath": "raw/",
        "outputPath": "extracted/",
        "sliceStart": "+10",
        "syncReference": "/camera",
        "syncWith": "/imu,/gps",
        "video": True,  # a Bool parameter takes a JSON boolean
    }


def test_processor_options_that_cannot_work_are_refused_before_the_run(tmp_path: Path) -> None:
    stderr = io.StringIO()
    code = main(
        ["run", "--parameter", "syncWith=/imu", "--parameter", "sliceStart=10s"], stderr=stderr
    )
    assert code == 2
    [line] = stderr.getvalue().splitlines()
    assert line.startswith("ops run: syncWith needs syncReference; sliceStart '10s' is not a time")


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        (
            "slice_start=+10",
            "argument --parameter: 'slice_start' is not a parameter of the pipeline: it takes "
            "inputPath, outputPath, format, lakePath, bagPath, quarantinePath, sliceStart, "
            "sliceEnd, syncReference, syncWith, syncTolerance, syncMethod, syncClock, "
            "pointClouds, video",
        ),
        ("video=yes", "argument --parameter: video 'yes' is not true or false"),
    ],
)
def test_an_unknown_parameter_is_refused_before_anything_starts(
    parameter: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--parameter", parameter])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(message)


@pytest.mark.parametrize("fake", [SUCCESS], indirect=True)
def test_authenticates_every_call_with_a_bearer_token_for_the_right_audience(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    run_ops(fake, credential, tmp_path)

    assert {r.authorization for r in fake.requests} == {f"Bearer {credential.token}"}
    assert set(credential.scopes) == {
        "https://management.azure.com/.default",
        "https://batch.core.windows.net//.default",
    }
    # Progress comes from the job's task counts, never from listing its tasks.
    batch_paths = {p for p in fake.paths() if p.startswith("/jobs/")}
    assert batch_paths == {f"/jobs/{JOB_ID}/taskcounts"}


@pytest.mark.parametrize("fake", [SUCCESS], indirect=True)
def test_json_summary_is_machine_readable(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, _ = run_ops(fake, credential, tmp_path, "--json")

    summary = json.loads(out)
    assert code == 0
    assert summary["verdict"] == "succeeded"
    assert summary["jobId"] == JOB_ID
    assert summary["taskCounts"] == {"active": 0, "running": 0, "succeeded": 4, "failed": 0}
    assert [(b["bag"], b["topics"], b["messages"]) for b in summary["bags"]] == [
        ("raw/jackal-imu-odom.bag", 2, 12046),
        ("raw/ros2-mcap-basic", 3, 30),
    ]
    assert summary["bagTotals"]["total"] == 2
    assert summary["messages"] == 12076
    assert summary["links"]["orchestrator log"] == STDERR_URL


@pytest.mark.parametrize("fake", [FAILED], indirect=True)
def test_failed_activity_exits_1_with_its_error(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, _ = run_ops(fake, credential, tmp_path)

    assert code == 1
    assert out.startswith(
        f"Pipeline run {RUN_ID} failed after 0:04:12: "
        "Operation on target extract-bags failed: 1 of 2 bags failed"
    )
    assert (
        "error       extract-bags: UserError error 2500: 1 of 2 bags failed: raw/broken.bag: "
        "exit 2: not a ROS bag (bad magic)"
    ) in out
    assert "tasks 2/2 done (1 failed)" in out
    assert "Bags: 2 (1 succeeded, 1 failed)" in out
    lines = out.splitlines()
    broken = next(i for i, line in enumerate(lines) if "raw/broken.bag -> -" in line)
    assert lines[broken].split() == ["failed", "0", "0", "raw/broken.bag", "->", "-"]
    assert lines[broken + 1].strip() == (
        f"! exit 2 in task {BROKEN_TASK}: not a ROS bag (bad magic)"
    )
    assert lines[broken + 2].strip() == (
        f"https://stbatchrosbagdev.blob.core.windows.net/task-logs/{JOB_ID}/{BROKEN_TASK}/stderr.txt"
    )
    assert STDERR_URL in out
    assert not fake.cancelled


@pytest.mark.parametrize("fake", [STUCK], indirect=True)
def test_timeout_cancels_the_run_and_terminates_its_job(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, err = run_ops(fake, credential, tmp_path, "--timeout", "0.005")

    assert code == 1
    assert f"Pipeline run {RUN_ID} timed out after" in out
    assert "still InProgress after 0.005 min" in out
    assert f"note        cancelled pipeline run {RUN_ID}" in out
    assert f"note        terminated Batch job {JOB_ID}" in out
    assert "Bags: not reported (the run had not finished)" in out
    assert fake.cancelled
    assert fake.terminated_jobs == [JOB_ID]
    assert "tasks 0/6 done (0 failed), 1 running, 5 waiting" in err


@pytest.mark.parametrize("fake", [STUCK], indirect=True)
def test_timeout_can_leave_the_run_going(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, _ = run_ops(
        fake, credential, tmp_path, "--timeout", "0.003", "--keep-running-on-timeout"
    )

    assert code == 1
    assert "left running (--keep-running-on-timeout)" in out
    assert not fake.cancelled
    assert fake.terminated_jobs == []


@pytest.mark.parametrize("fake", [SUCCESS], indirect=True)
def test_min_bags_fails_a_run_that_extracted_too_few(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    enough, _, _ = run_ops(fake, credential, tmp_path, "--min-bags", "2")
    fake.polls = 0
    too_few, out, _ = run_ops(fake, credential, tmp_path, "--min-bags", "3")

    assert (enough, too_few) == (0, 1)
    assert out.startswith(
        f"Pipeline run {RUN_ID} failed after 0:04:12: expected at least 3 bag(s) extracted, "
        "the orchestrator reported 2: is there a bag under raw/?"
    )


@pytest.mark.parametrize("fake", [Scenario(phases=[], refuse_create_run=True)], indirect=True)
def test_a_refused_start_exits_1_with_azures_reason(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, err = run_ops(fake, credential, tmp_path)

    assert code == 1
    assert out == ""
    assert err.splitlines() == [
        "ops run: Azure refused the request (403 AuthorizationFailed) "
        "(Microsoft.DataFactory/factories/pipelines/createrun/action): grant the caller "
        "Data Factory Contributor on the factory adf-rosbag-dev"
    ]  # one line: the cause and the fix
    assert fake.paths("GET") == []  # nothing followed after a run that never started


def with_batch_fault(scenario: Scenario, fault: BatchFault) -> Scenario:
    return dataclasses.replace(scenario, batch_fault=fault)


@pytest.mark.parametrize("fake", [with_batch_fault(SUCCESS, BATCH_FORBIDDEN)], indirect=True)
def test_a_batch_403_names_the_missing_role_and_keeps_following_the_pipeline(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, err = run_ops(fake, credential, tmp_path)

    assert code == 0, err + out  # the pipeline succeeded: that is the verdict
    assert "Traceback" not in err
    advice = [line for line in err.splitlines() if "Azure Batch Job Submitter" in line]
    assert advice == [
        "ops run: Batch refused to show the job's task counts "
        "(403 InsufficientAccountPermissions): grant the caller Azure Batch Job Submitter on "
        "the Batch account batchrosbagdev; following the pipeline without them"
    ]  # once, not on every poll
    progress = [line.split("] ", 1)[1] for line in err.splitlines() if line.startswith("[")]
    assert progress[-1].split(" | ") == [
        "pipeline Succeeded", "extract-bags Succeeded",
        "tasks unknown (Batch 403 InsufficientAccountPermissions)",
    ]  # fmt: skip
    assert f"Pipeline run {RUN_ID} succeeded after 0:04:12" in out
    assert "note        task counts unavailable: Batch answered 403" in out
    assert "raw/jackal-imu-odom.bag" in out  # the bag report still comes from ADF


@pytest.mark.parametrize(
    "fake", [with_batch_fault(SUCCESS, dataclasses.replace(BATCH_BUSY, times=8))], indirect=True
)
@pytest.mark.usefixtures("no_retry_backoff")
def test_a_batch_5xx_is_retried_then_reported_and_the_run_is_still_followed(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, err = run_ops(fake, credential, tmp_path)

    assert code == 0, err + out
    assert "Traceback" not in err
    progress = [line.split("] ", 1)[1] for line in err.splitlines() if line.startswith("[")]
    busy = "tasks unknown (Batch 503 ServerBusy, retrying)"
    unknown = [line for line in progress if busy in line]
    assert unknown, progress
    assert progress[-1].endswith("tasks 4/4 done (0 failed), 0 running, 0 waiting")
    assert fake.batch_faults_answered == 8  # two polls' worth of the SDK's four attempts
    assert f"Batch job   {JOB_ID}: tasks 4/4 done (0 failed)" in out


@pytest.mark.parametrize("fake", [dataclasses.replace(SUCCESS, pipeline_run_busy=8)], indirect=True)
@pytest.mark.usefixtures("no_retry_backoff")
def test_data_factory_5xx_while_following_is_retried_not_fatal(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, err = run_ops(fake, credential, tmp_path)

    assert code == 0, err + out
    waits = [line for line in err.splitlines() if "Data Factory did not answer" in line]
    assert len(waits) == 2  # two polls' worth of the SDK's four attempts
    assert waits[0].endswith("Data Factory did not answer (503 ServiceUnavailable): asking again")
    assert f"Pipeline run {RUN_ID} succeeded" in out


@pytest.mark.parametrize(
    "fake", [dataclasses.replace(SUCCESS, pipeline_run_forbidden=True)], indirect=True
)
def test_losing_read_access_after_the_start_says_the_run_goes_on(
    fake: FakeAzure, credential: RecordingCredential, tmp_path: Path
) -> None:
    code, out, err = run_ops(fake, credential, tmp_path)

    assert code == 1
    assert out == ""
    assert err.splitlines()[1:] == [
        f"Stopped following: pipeline run {RUN_ID} goes on. Cancel it with `az datafactory "
        f"pipeline-run cancel --factory-name adf-rosbag-dev --resource-group rg-rosbag-dev "
        f"--run-id {RUN_ID}`.",
        "ops run: Azure refused the request (403 AuthorizationFailed) "
        "(Microsoft.DataFactory/factories/pipelineruns/read): grant the caller "
        "Data Factory Contributor on the factory adf-rosbag-dev",
    ]


def run_declared_pipeline(
    orchestrator: CustomRun, fake_ca: trustme.CA, credential: RecordingCredential, tmp_path: Path
) -> tuple[int, str, FakeAzure]:
    """`ops run` against the fake ADF running the pipeline the program declares."""
    scenario = Scenario(
        phases=[
            Phase("InProgress", "InProgress", {"running": 2}),
            Phase("Failed", "Succeeded", {"succeeded": 1, "failed": 1}),
        ],
        pipeline=declared_pipeline(),
        orchestrator=orchestrator,
    )
    with serve_fake_azure(scenario, fake_ca) as fake:
        code, out, _ = run_ops(fake, credential, tmp_path)
    return code, out, fake


def test_failed_bags_fail_the_run_with_the_per_bag_report(
    fake_ca: trustme.CA, trust_fake_ca: Path, credential: RecordingCredential, tmp_path: Path
) -> None:
    custom = FAILED.activity_output["customOutput"]  # type: ignore[index]
    reported = CustomRun(
        "Succeeded", {"exitcode": 0, "outputs": [STDERR_URL], "customOutput": custom}
    )

    code, out, _ = run_declared_pipeline(reported, fake_ca, credential, tmp_path)

    assert code == 1
    assert out.startswith(f"Pipeline run {RUN_ID} failed after")
    assert "1 of 2 bags failed: raw/broken.bag: exit 2: not a ROS bag (bad magic)" in out
    assert "error       bags-failed: UserError error ExtractionFailed: 1 of 2 bags failed" in out
    assert "Bags: 2 (1 succeeded, 1 failed)" in out  # the per-bag report reached ops
    assert f"! exit 2 in task {BROKEN_TASK}: not a ROS bag (bad magic)" in out


def test_a_run_whose_bags_all_succeeded_passes(
    fake_ca: trustme.CA, trust_fake_ca: Path, credential: RecordingCredential, tmp_path: Path
) -> None:
    custom = SUCCESS.activity_output["customOutput"]  # type: ignore[index]
    reported = CustomRun("Succeeded", {"exitcode": 0, "customOutput": custom})

    code, out, _ = run_declared_pipeline(reported, fake_ca, credential, tmp_path)

    assert code == 0, out
    assert f"Pipeline run {RUN_ID} succeeded" in out
    assert "Bags: 2 (1 succeeded, 1 partial)" in out
