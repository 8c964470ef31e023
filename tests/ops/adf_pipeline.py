"""A fake of Data Factory's pipeline run: the declared activities (as the Pulumi program records
them) evaluated the way ADF evaluates them, so tests see the pipeline ADF would run, not the
one we meant.

What it does, each rule with its source:
- Expressions: a string starting with `@` (or an `{"type": "Expression", "value": ...}` object) is
  evaluated; `@@` escapes a literal `@`; `@{...}` interpolates inside a string
  (learn.microsoft.com/azure/data-factory/control-flow-expression-language-functions). Only the
  functions and system variables listed in `_FUNCTIONS` and `_evaluate_call` are known: anything
  else is refused (`ExpressionError`), as ADF refuses what it cannot evaluate.
- Dependencies: an activity runs when every `dependsOn` entry's activity ended in one of its
  `dependencyConditions` (Succeeded, Failed, Skipped, Completed); otherwise it is Skipped
  (azure-mgmt-datafactory models ActivityDependency; learn.microsoft.com/azure/data-factory/
  tutorial-pipeline-failure-error-handling).
- IfCondition: its expression must evaluate to a boolean; it runs ifTrueActivities or
  ifFalseActivities and fails when an inner activity fails (models IfConditionActivity).
- Fail: message and errorCode must evaluate to non-empty strings (models FailActivity:
  "evaluated to a non empty/blank string at runtime"); the activity fails with them.
- Custom: its result is the test's (`CustomRun`): status, output (`customOutput` is
  outputs.json), error. A failed attempt is retried up to `policy.retry` times (models
  ActivityPolicy.retry: "Maximum ordinary retry attempts"); a succeeded one never is.
- The pipeline's result: "Evaluate outcome for all leaves activities. If a leaf activity was
  skipped, we evaluate its parent activity instead. Pipeline result is success if and only if
  all leaves succeed" (techcommunity.microsoft.com/blog/azuredatafactoryblog/
  understanding-pipeline-failures-and-error-handling/1630459; the try-catch and do-if-else
  outcomes of learn.microsoft.com/azure/data-factory/tutorial-pipeline-failure-error-handling).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CONDITIONS = {"Succeeded", "Failed", "Skipped", "Completed"}


class ExpressionError(ValueError):
    """ADF would refuse this expression (or the fake cannot evaluate it: extend the fake)."""


class PipelineError(ValueError):
    """ADF would refuse this pipeline definition."""


@dataclass(frozen=True)
class CustomRun:
    """One attempt of a Custom activity, as the test wants it to end."""

    status: str  # "Succeeded" or "Failed"
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass
class ActivityRun:
    name: str
    type: str
    status: str  # Succeeded, Failed, Skipped
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    attempts: int = 1

    def as_rest(self, run_id: str) -> dict[str, Any]:
        """As the activity-runs query returns it (azure-mgmt-datafactory models ActivityRun)."""
        return {
            "activityName": self.name,
            "activityType": self.type,
            "activityRunId": f"{run_id}-{self.name}",
            "pipelineRunId": run_id,
            "status": self.status,
            "activityRunStart": "2026-11-24T22:00:05Z",
            "output": self.output,
            "error": self.error
            or {"errorCode": "", "message": "", "failureType": "", "target": self.name},
        }


@dataclass
class PipelineRun:
    status: str
    message: str
    activities: list[ActivityRun] = field(default_factory=list)

    def activity(self, name: str) -> ActivityRun:
        return next(run for run in self.activities if run.name == name)


# --- expressions ---------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>\?\.|[().,\[\]]))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"cannot read the expression at {text[position:]!r}")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


@dataclass
class _Context:
    parameters: Mapping[str, Any]
    run_id: str
    pipeline_name: str
    activities: Mapping[str, ActivityRun]


def _concat(*parts: Any) -> str:
    return "".join(_as_text(part) for part in parts)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"  # ADF's string() of a boolean
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _coalesce(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ExpressionError(f"bool() of {value!r}")


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "equals": lambda a, b: a == b,
    "not": lambda a: not _to_bool(a),
    "and": lambda *a: all(_to_bool(x) for x in a),
    "or": lambda *a: any(_to_bool(x) for x in a),
    "bool": _to_bool,
    "string": _as_text,
    "concat": _concat,
    "coalesce": _coalesce,
    "greater": lambda a, b: a > b,
}


class _Parser:
    def __init__(self, text: str, context: _Context) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.context = context

    def parse(self) -> Any:
        value = self.expression()
        if self.position != len(self.tokens):
            raise ExpressionError(f"unexpected {self.tokens[self.position][1]!r}")
        return value

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (text is not None and token[1] != text):
            raise ExpressionError(f"expected {text or 'more'} in the expression")
        self.position += 1
        return token

    def expression(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            value: Any = text[1:-1].replace("''", "'")
        elif kind == "number":
            value = float(text) if "." in text else int(text)
        elif kind == "name" and text in ("true", "false", "null"):
            value = {"true": True, "false": False, "null": None}[text]
        elif kind == "name":
            value = self.call(text)
        else:
            raise ExpressionError(f"unexpected {text!r}")
        return self.accessors(value)

    def arguments(self) -> list[Any]:
        self.take("(")
        values: list[Any] = []
        while self.peek() is not None and self.peek() != ("punct", ")"):
            values.append(self.expression())
            if self.peek() == ("punct", ","):
                self.take(",")
        self.take(")")
        return values

    def call(self, name: str) -> Any:
        args = self.arguments()
        if name == "pipeline" and not args:
            return {
                "parameters": dict(self.context.parameters),
                "RunId": self.context.run_id,
                "Pipeline": self.context.pipeline_name,
            }
        if name == "activity" and len(args) == 1:
            run = self.context.activities.get(str(args[0]))
            if run is None:
                raise ExpressionError(f"activity({args[0]!r}) has not run before this one")
            return {"output": run.output, "status": run.status, "error": run.error}
        function = _FUNCTIONS.get(name)
        if function is None:
            raise ExpressionError(f"the fake does not know the function {name}()")
        return function(*args)

    def accessors(self, value: Any) -> Any:
        while (token := self.peek()) is not None and token[1] in (".", "?.", "["):
            self.take()
            if token[1] == "[":
                key = self.expression()
                self.take("]")
            else:
                key = self.take()[1]
            if value is None and token[1] == "?.":
                continue
            if not isinstance(value, dict) or key not in value:
                if token[1] == "?.":
                    value = None
                    continue
                raise ExpressionError(f"property {key!r} does not exist here")
            value = value[key]
        return value


def evaluate(value: Any, context: _Context) -> Any:
    """A property value as ADF evaluates it at run time."""
    if isinstance(value, dict) and value.get("type") == "Expression":
        text = value.get("value")
        if not isinstance(text, str) or not text.startswith("@"):
            raise ExpressionError(f"an Expression object's value must start with @: {value!r}")
        return evaluate(text, context)
    if not isinstance(value, str) or not value.startswith("@"):
        return value
    if value.startswith("@@"):
        return value[1:]
    if value.startswith("@{") or "@{" in value:
        return re.sub(
            r"@\{(.*?)\}", lambda m: _as_text(_Parser(m.group(1), context).parse()), value
        )
    return _Parser(value[1:], context).parse()


# --- the run -------------------------------------------------------------------------------


def _failure(code: str, message: str, target: str) -> dict[str, Any]:
    return {"errorCode": code, "message": message, "failureType": "UserError", "target": target}


class _Runner:
    def __init__(
        self,
        context: _Context,
        custom: Callable[[Mapping[str, Any], int], CustomRun],
        everything: list[ActivityRun],
    ) -> None:
        self.context = context
        self.custom = custom
        self.runs: dict[str, ActivityRun] = {}  # this scope's, by name
        self.everything = everything  # every activity run, inner ones included, in order

    def run_all(self, activities: Sequence[Mapping[str, Any]]) -> list[ActivityRun]:
        names = [activity["name"] for activity in activities]
        if len(set(names)) != len(names):
            raise PipelineError(f"activity names must be unique: {names}")
        ran: list[ActivityRun] = []
        remaining = list(activities)
        while remaining:
            ready = [a for a in remaining if self._dependencies_ended(a)]
            if not ready:
                raise PipelineError(f"dependsOn names activities that never run: {remaining}")
            for activity in ready:
                remaining.remove(activity)
                run = self._run_one(activity) if self._dependencies_met(activity) else None
                run = run or ActivityRun(activity["name"], activity["type"], "Skipped")
                self.runs[run.name] = run
                self.context.activities = {**self.context.activities, run.name: run}
                self.everything.append(run)
                ran.append(run)
        return ran

    def _dependencies(self, activity: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        dependencies = activity.get("dependsOn") or []
        for dependency in dependencies:
            conditions = set(dependency.get("dependencyConditions") or [])
            if not conditions or not conditions <= CONDITIONS:
                raise PipelineError(f"{activity['name']}: bad dependencyConditions {conditions}")
        return list(dependencies)

    def _dependencies_ended(self, activity: Mapping[str, Any]) -> bool:
        return all(d["activity"] in self.runs for d in self._dependencies(activity))

    def _dependencies_met(self, activity: Mapping[str, Any]) -> bool:
        for dependency in self._dependencies(activity):
            status = self.runs[dependency["activity"]].status
            conditions = set(dependency["dependencyConditions"])
            completed = "Completed" in conditions and status in ("Succeeded", "Failed")
            if status not in conditions and not completed:
                return False
        return True

    def _run_one(self, activity: Mapping[str, Any]) -> ActivityRun:
        kind = activity.get("type")
        name = activity["name"]
        if kind == "Custom":
            retries = int((activity.get("policy") or {}).get("retry") or 0)
            for attempt in range(1, retries + 2):
                result = self.custom(activity, attempt)
                if result.status == "Succeeded" or attempt == retries + 1:
                    return ActivityRun(
                        name, "Custom", result.status, result.output, result.error, attempt
                    )
            raise AssertionError("unreachable")
        if kind == "IfCondition":
            condition = evaluate(activity.get("expression"), self.context)
            if not isinstance(condition, bool):
                raise ExpressionError(f"{name}: the expression gave {condition!r}, not a boolean")
            branch = activity.get("ifTrueActivities" if condition else "ifFalseActivities") or []
            inner_runs = _Runner(self.context, self.custom, self.everything).run_all(branch)
            failed = next((r for r in inner_runs if r.status == "Failed"), None)
            if failed is None:
                return ActivityRun(name, kind, "Succeeded", {"ifExpressionResult": condition})
            message = (
                "Activity failed because an inner activity failed; Inner activity name: "
                f"{failed.name}, Error: {(failed.error or {}).get('message', '')}"
            )
            return ActivityRun(
                name, kind, "Failed", None, _failure("ActivityFailed", message, name)
            )
        if kind == "Fail":
            message = evaluate(activity.get("message"), self.context)
            code = evaluate(activity.get("errorCode"), self.context)
            for what, value in (("message", message), ("errorCode", code)):
                if not isinstance(value, str) or not value.strip():
                    raise ExpressionError(
                        f"{name}: {what} must be a non-empty string, got {value!r}"
                    )
            return ActivityRun(name, kind, "Failed", None, _failure(code, message, name))
        raise PipelineError(f"the fake does not run {kind} activities")


def run_pipeline(
    pipeline: Mapping[str, Any],
    custom: Callable[[Mapping[str, Any], int], CustomRun],
    *,
    parameters: Mapping[str, Any] | None = None,
    run_id: str = "8d6a1f0e-3b8b-4c4e-9a52-0c1d2e3f4a5b",
) -> PipelineRun:
    """Run `pipeline` (the Pipeline resource's inputs) with `custom` deciding each attempt of a
    Custom activity (it gets the activity with its expressions as declared, and the attempt)."""
    declared = pipeline.get("parameters") or {}
    given = dict(parameters or {})
    unknown = set(given) - set(declared)
    if unknown:
        raise PipelineError(f"the pipeline has no parameters {sorted(unknown)}")
    values = {key: given.get(key, spec.get("defaultValue")) for key, spec in declared.items()}
    context = _Context(values, run_id, str(pipeline.get("pipelineName", "")), {})
    everything: list[ActivityRun] = []
    activities = list(pipeline.get("activities") or [])
    ran = {run.name: run for run in _Runner(context, custom, everything).run_all(activities)}
    failed = [run for run in _leaf_outcomes(activities, ran) if run.status != "Succeeded"]
    if not failed:
        return PipelineRun("Succeeded", "", everything)
    first = failed[0]
    message = f"Operation on target {first.name} failed: {(first.error or {}).get('message', '')}"
    return PipelineRun("Failed", message, everything)


def _leaf_outcomes(
    activities: Sequence[Mapping[str, Any]], ran: Mapping[str, ActivityRun]
) -> list[ActivityRun]:
    """The runs that decide the pipeline: each leaf's, or for a skipped leaf its parents'."""
    parents = {a["name"]: [d["activity"] for d in a.get("dependsOn") or []] for a in activities}
    depended_on = {parent for names in parents.values() for parent in names}
    decided: list[ActivityRun] = []

    def decide(name: str) -> None:
        run = ran[name]
        if run.status == "Skipped" and parents[name]:
            for parent in parents[name]:
                decide(parent)
        elif run not in decided:
            decided.append(run)

    for activity in activities:
        if activity["name"] not in depended_on:
            decide(activity["name"])
    return decided


def evaluated_custom_activity(
    activity: Mapping[str, Any],
    *,
    parameters: Mapping[str, Any],
    run_id: str,
    pipeline_name: str = "",
) -> dict[str, Any]:
    """The Custom activity as ADF writes it to activity.json: every expression in
    `typeProperties` evaluated (the activity's own properties sit flat in the Pulumi inputs)."""
    context = _Context(parameters, run_id, pipeline_name, {})

    def walk(value: Any) -> Any:
        if isinstance(value, dict) and value.get("type") == "Expression":
            return evaluate(value, context)
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return evaluate(value, context)

    type_keys = {"command", "extendedProperties", "retentionTimeInDays", "autoUserSpecification",
                 "referenceObjects", "resourceLinkedService", "folderPath"}  # fmt: skip
    return {
        "name": activity["name"],
        "type": activity["type"],
        "typeProperties": {key: walk(value) for key, value in activity.items() if key in type_keys},
    }
