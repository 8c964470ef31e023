"""Request-body checks the real Batch service makes (REST API 2025-06-01).

Top-level field sets come from the SDK's models (azure-batch 15.1): the service
rejects a body with a field it does not know, and one without a required field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

JOB_FIELDS = {
    "id", "displayName", "usesTaskDependencies", "priority", "allowTaskPreemption",
    "maxParallelTasks", "constraints", "jobManagerTask", "jobPreparationTask", "jobReleaseTask",
    "commonEnvironmentSettings", "poolInfo", "onAllTasksComplete", "onTaskFailure",
    "networkConfiguration", "metadata",
}  # fmt: skip
JOB_UPDATE_FIELDS = {
    "priority", "allowTaskPreemption", "maxParallelTasks", "constraints", "poolInfo",
    "onAllTasksComplete", "metadata", "networkConfiguration",
}  # fmt: skip
TASK_FIELDS = {
    "id", "displayName", "exitConditions", "commandLine", "containerSettings", "resourceFiles",
    "outputFiles", "environmentSettings", "affinityInfo", "constraints", "requiredSlots",
    "userIdentity", "multiInstanceSettings", "dependsOn", "applicationPackageReferences",
    "authenticationTokenSettings",
}  # fmt: skip
CONTAINER_FIELDS = {
    "containerRunOptions", "imageName", "registry", "workingDirectory",
    "containerHostBatchBindMounts",
}  # fmt: skip
EXIT_CONDITION_FIELDS = {
    "exitCodes", "exitCodeRanges", "preProcessingError", "fileUploadError", "default",
}  # fmt: skip
ALL_TASKS_COMPLETE = {"noaction", "terminatejob"}
TASK_FAILURE = {"noaction", "performexitoptionsjobaction"}
JOB_ACTIONS = {"none", "disable", "terminate"}
DEPENDENCY_ACTIONS = {"satisfy", "block"}
UPLOAD_CONDITIONS = {"tasksuccess", "taskfailure", "taskcompletion"}
MAX_TASKS_PER_REQUEST = 100
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class InvalidBody(ValueError):
    """The service would answer 400 with this code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _require(body: dict[str, Any], name: str, where: str) -> Any:
    if body.get(name) in (None, ""):
        raise InvalidBody("MissingRequiredProperty", f"{where}: {name} is required")
    return body[name]


def _known(body: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidBody("InvalidRequestBody", f"{where}: unknown properties {unknown}")


def _one_of(value: Any, allowed: set[str], where: str) -> None:
    if value is not None and value not in allowed:
        raise InvalidBody("InvalidPropertyValue", f"{where}: {value!r} not in {sorted(allowed)}")


def check_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidBody("InvalidPropertyValue", f"{where}: id {value!r} is not a valid id")
    return value


def check_job(body: Any) -> None:
    if not isinstance(body, dict):
        raise InvalidBody("InvalidRequestBody", "job: body must be a JSON object")
    _known(body, JOB_FIELDS, "job")
    check_id(_require(body, "id", "job"), "job")
    pool_info = _require(body, "poolInfo", "job")
    if not pool_info.get("poolId") and not pool_info.get("autoPoolSpecification"):
        raise InvalidBody("MissingRequiredProperty", "job.poolInfo: poolId is required")
    _one_of(body.get("onAllTasksComplete"), ALL_TASKS_COMPLETE, "job.onAllTasksComplete")
    _one_of(body.get("onTaskFailure"), TASK_FAILURE, "job.onTaskFailure")


def check_job_update(body: Any) -> None:
    if not isinstance(body, dict):
        raise InvalidBody("InvalidRequestBody", "job update: body must be a JSON object")
    _known(body, JOB_UPDATE_FIELDS, "job update")
    _one_of(body.get("onAllTasksComplete"), ALL_TASKS_COMPLETE, "job.onAllTasksComplete")


def _check_exit_options(options: Any, where: str) -> None:
    if not isinstance(options, dict):
        raise InvalidBody("InvalidRequestBody", f"{where}: must be an object")
    _known(options, {"jobAction", "dependencyAction"}, where)
    _one_of(options.get("jobAction"), JOB_ACTIONS, f"{where}.jobAction")
    _one_of(options.get("dependencyAction"), DEPENDENCY_ACTIONS, f"{where}.dependencyAction")


def check_task(body: Any) -> None:
    if not isinstance(body, dict):
        raise InvalidBody("InvalidRequestBody", "task: must be a JSON object")
    _known(body, TASK_FIELDS, "task")
    where = f"task {body.get('id')}"
    check_id(_require(body, "id", "task"), where)
    _require(body, "commandLine", where)
    container = body.get("containerSettings")
    if container is not None:
        _known(container, CONTAINER_FIELDS, f"{where}.containerSettings")
        _require(container, "imageName", f"{where}.containerSettings")
    exit_conditions = body.get("exitConditions")
    if exit_conditions is not None:
        _known(exit_conditions, EXIT_CONDITION_FIELDS, f"{where}.exitConditions")
        for mapping in exit_conditions.get("exitCodes", []):
            if not isinstance(mapping.get("code"), int):
                raise InvalidBody(
                    "MissingRequiredProperty", f"{where}: exit code mapping needs code"
                )
            _check_exit_options(_require(mapping, "exitOptions", where), f"{where}.exitCodes")
        for mapping in exit_conditions.get("exitCodeRanges", []):
            if not isinstance(mapping.get("start"), int) or not isinstance(mapping.get("end"), int):
                raise InvalidBody(
                    "MissingRequiredProperty", f"{where}: exit code range needs start and end"
                )
            _check_exit_options(_require(mapping, "exitOptions", where), f"{where}.exitCodeRanges")
        for name in ("preProcessingError", "fileUploadError", "default"):
            if exit_conditions.get(name) is not None:
                _check_exit_options(exit_conditions[name], f"{where}.exitConditions.{name}")
    for output in body.get("outputFiles", []):
        _require(output, "filePattern", f"{where}.outputFiles")
        destination = _require(output, "destination", f"{where}.outputFiles")
        container_dest = _require(destination, "container", f"{where}.outputFiles.destination")
        _require(container_dest, "containerUrl", f"{where}.outputFiles.destination.container")
        upload = _require(output, "uploadOptions", f"{where}.outputFiles")
        _one_of(_require(upload, "uploadCondition", where), UPLOAD_CONDITIONS, where)
    auto_user = (body.get("userIdentity") or {}).get("autoUser")
    if auto_user is not None:
        _one_of(auto_user.get("scope"), {"task", "pool"}, f"{where}.autoUser.scope")
        _one_of(auto_user.get("elevationLevel"), {"nonadmin", "admin"}, f"{where}.autoUser")
    for dependency in (body.get("dependsOn") or {}).get("taskIds", []):
        check_id(dependency, f"{where}.dependsOn")


def _exit_options(task: dict[str, Any]) -> list[dict[str, Any]]:
    conditions = task.get("exitConditions") or {}
    mappings = [*conditions.get("exitCodes", []), *conditions.get("exitCodeRanges", [])]
    options = [mapping.get("exitOptions") or {} for mapping in mappings]
    options += [
        conditions[name]
        for name in ("preProcessingError", "fileUploadError", "default")
        if conditions.get(name)
    ]
    return options


def task_error_for_job(task: dict[str, Any], job: dict[str, Any]) -> InvalidBody | None:
    """What the service refuses in one task of an add-task-collection request, given its job.

    The service answers these per task (status `clienterror` in the collection's results), and
    azure-batch's `create_tasks` raises `CreateTasksError` for them.
    """
    where = f"task {task.get('id')}"
    # azure-batch models/_models.py ExitOptions.job_action: "If the Job's onTaskFailed property
    # is noaction, then specifying this property returns an error and the add Task request fails
    # with an invalid property value error" (400).
    if job.get("onTaskFailure", "noaction") == "noaction" and any(
        "jobAction" in options for options in _exit_options(task)
    ):
        return InvalidBody(
            "InvalidPropertyValue",
            f"{where}: exitOptions.jobAction is only allowed when the job's onTaskFailure is "
            "performexitoptionsjobaction",
        )
    # learn.microsoft.com/dotnet/api/microsoft.azure.batch.exitoptions.dependencyaction: "If the
    # job's UsesTaskDependencies is false, you cannot add a task with this property set."
    if not job.get("usesTaskDependencies") and any(
        "dependencyAction" in options for options in _exit_options(task)
    ):
        return InvalidBody(
            "InvalidPropertyValue",
            f"{where}: exitOptions.dependencyAction needs a job with usesTaskDependencies",
        )
    return None


def check_task_collection(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise InvalidBody("InvalidRequestBody", "task collection: must be a JSON object")
    _known(body, {"value"}, "task collection")
    tasks = _require(body, "value", "task collection")
    if not isinstance(tasks, list) or not tasks:
        raise InvalidBody("InvalidRequestBody", "task collection: value must be a non-empty list")
    if len(tasks) > MAX_TASKS_PER_REQUEST:
        raise InvalidBody(
            "TooManyTasks", f"task collection: {len(tasks)} tasks, at most {MAX_TASKS_PER_REQUEST}"
        )
    return tasks


# The list-tasks $filter clauses the orchestrator sends, as `property eq 'value'` joined by `and`.
# The service accepts more (learn.microsoft.com/rest/api/batchservice/odata-filters-in-batch#
# list-tasks); the fake refuses what it cannot evaluate rather than ignore it.
_FILTER_TERM = re.compile(r"^\s*(state|executionInfo/result)\s+eq\s+'([a-z]+)'\s*$")


def task_filter(clause: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate on a task's REST body for a list-tasks `$filter`."""
    if not clause:
        return lambda task: True
    terms: list[tuple[str, str]] = []
    for part in re.split(r"\s+and\s+", clause):
        match = _FILTER_TERM.match(part)
        if match is None:
            raise InvalidBody("InvalidQueryParameterValue", f"$filter {clause!r} not understood")
        terms.append((match[1], match[2]))

    def value(task: dict[str, Any], name: str) -> Any:
        if name == "state":
            return task.get("state")
        return (task.get("executionInfo") or {}).get("result")

    return lambda task: all(value(task, name) == wanted for name, wanted in terms)
