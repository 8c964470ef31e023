"""The fake Batch service refuses what the real one refuses, so passing tests mean something."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from azure.batch import BatchClient
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from orchestrator.executors.batch_client import make_batch_client
from tests.orchestrator.fake_batch import API_VERSION, FakeBatchService, FakeCredential

JOB = {"id": "job-1", "poolInfo": {"poolId": "execution"}}
TASK = {"id": "task-1", "commandLine": "true"}


def post(client: BatchClient, url: str, body: Any) -> int:
    request = HttpRequest("POST", f"{url}?api-version={API_VERSION}", json=body)
    return client.send_request(request).status_code


def rejection(client: BatchClient, url: str, body: Any) -> tuple[int, str]:
    with pytest.raises(HttpResponseError) as caught:
        post(client, url, body)
    error = caught.value
    assert error.status_code is not None and error.error is not None
    return error.status_code, str(error.error.code)


@pytest.fixture
def client(fake_batch: FakeBatchService) -> BatchClient:
    return make_batch_client(
        fake_batch.url, FakeCredential(), connection_verify=fake_batch.ca_file, retry_total=0
    )


def test_job_bodies_are_checked(client: BatchClient, fake_batch: FakeBatchService) -> None:
    jobs = f"{fake_batch.url}/jobs"
    assert rejection(client, jobs, {"id": "job-1"}) == (400, "MissingRequiredProperty")
    assert rejection(client, jobs, {**JOB, "poolId": "x"}) == (400, "InvalidRequestBody")
    assert rejection(client, jobs, {**JOB, "id": "bad id!"}) == (400, "InvalidPropertyValue")
    assert post(client, jobs, JOB) == 201
    assert rejection(client, jobs, {**JOB, "id": "JOB-1"}) == (409, "JobExists")  # case-insensitive


def test_task_collections_are_checked(client: BatchClient, fake_batch: FakeBatchService) -> None:
    assert post(client, f"{fake_batch.url}/jobs", JOB) == 201
    tasks = f"{fake_batch.url}/jobs/job-1/addtaskcollection"
    too_many = {"value": [{**TASK, "id": f"t{i}"} for i in range(101)]}
    assert rejection(client, tasks, too_many) == (400, "TooManyTasks")
    assert rejection(client, tasks, {"value": [{"id": "t"}]}) == (400, "MissingRequiredProperty")
    unknown = {"value": [{**TASK, "containerSettings": {"image": "x"}}]}
    assert rejection(client, tasks, unknown) == (400, "InvalidRequestBody")
    dependent = {"value": [{**TASK, "dependsOn": {"taskIds": ["t0"]}}]}
    assert rejection(client, tasks, dependent) == (409, "TaskDependenciesNotSpecifiedOnJob")


def test_requests_need_a_bearer_token_over_tls(
    fake_batch: FakeBatchService, tmp_path: Path
) -> None:
    context = ssl.create_default_context(cafile=fake_batch.ca_file)
    url = f"{fake_batch.url}/jobs/job-1?api-version={API_VERSION}"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url, context=context, timeout=10)
    assert caught.value.code == 401


def test_client_asks_for_the_batch_scope(fake_batch: FakeBatchService) -> None:
    credential = FakeCredential()
    client = make_batch_client(fake_batch.url, credential, connection_verify=fake_batch.ca_file)
    assert post(client, f"{fake_batch.url}/jobs", JOB) == 201
    assert credential.scopes == ("https://batch.core.windows.net//.default",)


def added(client: BatchClient, url: str, tasks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Each task's (status, error code) in an add-task-collection answer."""
    request = HttpRequest("POST", f"{url}?api-version={API_VERSION}", json={"value": tasks})
    results = client.send_request(request).json()["value"]
    return [(item["status"], (item.get("error") or {}).get("code", "")) for item in results]


def test_job_actions_are_refused_on_a_noaction_job(
    client: BatchClient, fake_batch: FakeBatchService
) -> None:
    # azure-batch ExitOptions.job_action: refused unless onTaskFailure is
    # performexitoptionsjobaction.
    assert post(client, f"{fake_batch.url}/jobs", {**JOB, "usesTaskDependencies": True}) == 201
    tasks = f"{fake_batch.url}/jobs/job-1/addtaskcollection"
    with_job_action = {"exitConditions": {"default": {"jobAction": "none"}}}
    with_dependency_action = {"exitConditions": {"default": {"dependencyAction": "satisfy"}}}

    assert added(client, tasks, [{**TASK, **with_job_action}]) == [
        ("clienterror", "InvalidPropertyValue")
    ]
    assert added(client, tasks, [{**TASK, **with_dependency_action}]) == [("success", "")]


def test_dependency_actions_need_a_job_with_dependencies(
    client: BatchClient, fake_batch: FakeBatchService
) -> None:
    assert post(client, f"{fake_batch.url}/jobs", JOB) == 201
    tasks = f"{fake_batch.url}/jobs/job-1/addtaskcollection"
    body = {**TASK, "exitConditions": {"exitCodes": [
        {"code": 2, "exitOptions": {"dependencyAction": "satisfy"}}
    ]}}  # fmt: skip
    assert added(client, tasks, [body]) == [("clienterror", "InvalidPropertyValue")]


def test_reactivation_follows_the_documented_rules(
    client: BatchClient, fake_batch: FakeBatchService
) -> None:
    # azure-batch reactivate_task: refused for a task that is not completed or that exited 0,
    # and on a job that has ended.
    assert post(client, f"{fake_batch.url}/jobs", JOB) == 201
    tasks = f"{fake_batch.url}/jobs/job-1/addtaskcollection"
    added(client, tasks, [{**TASK, "id": "ok"}, {"id": "fails", "commandLine": "false"}])
    fake_batch.wait_idle("job-1")
    task_url = f"{fake_batch.url}/jobs/job-1/tasks"

    assert rejection(client, f"{task_url}/ok/reactivate", None) == (
        409,
        "TaskCompletedSuccessfully",
    )
    assert post(client, f"{task_url}/fails/reactivate", None) == 204
    fake_batch.wait_idle("job-1")
    # It ran again. (Its state right after the 204 is a race: the runner may have started it,
    # or finished it, before the test looks, on a loaded machine.)
    assert fake_batch.state.job("job-1").tasks["fails"].attempts == 2  # type: ignore[union-attr]
    assert post(client, f"{fake_batch.url}/jobs/job-1/terminate", None) == 202
    assert rejection(client, f"{task_url}/fails/reactivate", None) == (409, "JobCompleted")


def test_an_unknown_task_filter_is_refused(
    client: BatchClient, fake_batch: FakeBatchService
) -> None:
    assert post(client, f"{fake_batch.url}/jobs", JOB) == 201
    url = f"{fake_batch.url}/jobs/job-1/tasks?api-version={API_VERSION}&$filter=exitCode eq 2"
    with pytest.raises(HttpResponseError) as caught:
        client.send_request(HttpRequest("GET", url)).raise_for_status()
    assert caught.value.status_code == 400
