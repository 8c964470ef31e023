"""The fake Data Factory refuses what ADF refuses, so a pipeline it runs is one ADF would run."""

from __future__ import annotations

from typing import Any

import pytest

from tests.ops.adf_pipeline import CustomRun, ExpressionError, PipelineError, run_pipeline

ORCHESTRATOR = {"name": "run", "type": "Custom", "policy": {"retry": 1}}


def pipeline(*activities: dict[str, Any]) -> dict[str, Any]:
    return {"pipelineName": "p", "parameters": {}, "activities": [ORCHESTRATOR, *activities]}


def after_run(**properties: Any) -> dict[str, Any]:
    return {"dependsOn": [{"activity": "run", "dependencyConditions": ["Succeeded"]}], **properties}


def succeeded(activity: Any, attempt: int) -> CustomRun:
    return CustomRun("Succeeded", {"customOutput": {"succeeded": False, "message": ""}})


def fail(message: Any, code: Any = "E") -> dict[str, Any]:
    return {"name": "fail", "type": "Fail", "message": message, "errorCode": code}


def test_a_fail_activity_needs_a_non_empty_message_and_code() -> None:
    empty = {"type": "Expression", "value": "@activity('run').output.customOutput.message"}
    with pytest.raises(ExpressionError, match="message must be a non-empty string"):
        run_pipeline(pipeline(after_run(**fail(empty))), succeeded)
    with pytest.raises(ExpressionError, match="errorCode must be a non-empty string"):
        run_pipeline(pipeline(after_run(**fail("m", " "))), succeeded)


def test_an_if_condition_needs_a_boolean() -> None:
    text = {"type": "Expression", "value": "@activity('run').output.customOutput.message"}
    branch = {"name": "check", "type": "IfCondition", "expression": text}
    with pytest.raises(ExpressionError, match="not a boolean"):
        run_pipeline(pipeline(after_run(**branch)), succeeded)


def test_unknown_functions_properties_and_activities_are_refused() -> None:
    for value, message in [
        ("@frobnicate(1)", "does not know the function"),
        ("@activity('run').output.nothing", "does not exist"),
        ("@activity('later').output", "has not run"),
    ]:
        with pytest.raises(ExpressionError, match=message):
            run_pipeline(pipeline(after_run(**fail(value))), succeeded)


def test_dependencies_must_name_activities_and_known_conditions() -> None:
    ghost = [{"activity": "ghost", "dependencyConditions": ["Succeeded"]}]
    dangling = {**fail("m"), "name": "x", "dependsOn": ghost}
    with pytest.raises(PipelineError, match="never run"):
        run_pipeline(pipeline(dangling), succeeded)
    odd = {**dangling, "dependsOn": [{"activity": "run", "dependencyConditions": ["Sometimes"]}]}
    with pytest.raises(PipelineError, match="dependencyConditions"):
        run_pipeline(pipeline(odd), succeeded)


def test_a_failure_handled_by_an_upon_failure_path_does_not_fail_the_pipeline() -> None:
    def crashed(activity: Any, attempt: int) -> CustomRun:
        return CustomRun("Failed", None, {"message": "boom"})

    upon_failure = [{"activity": "run", "dependencyConditions": ["Failed"]}]
    always = {"type": "Expression", "value": "@equals(1, 1)"}
    handler = {
        "name": "log",
        "type": "IfCondition",
        "expression": always,
        "dependsOn": upon_failure,
    }
    run = run_pipeline(pipeline(handler), crashed)
    assert run.status == "Succeeded"
    assert run.activity("run").attempts == 2  # policy.retry 1: tried twice


def test_a_do_if_else_pipeline_fails_when_its_first_activity_fails() -> None:
    def crashed(activity: Any, attempt: int) -> CustomRun:
        return CustomRun("Failed", None, {"message": "boom"})

    always = {"type": "Expression", "value": "@equals(1, 1)"}

    def branch(name: str, condition: str) -> dict[str, Any]:
        after = [{"activity": "run", "dependencyConditions": [condition]}]
        return {"name": name, "type": "IfCondition", "expression": always, "dependsOn": after}

    on_success, on_failure = branch("next", "Succeeded"), branch("log", "Failed")
    run = run_pipeline(pipeline(on_success, on_failure), crashed)
    # The skipped leaf is judged by its parent, which failed.
    assert run.status == "Failed" and "boom" in run.message
