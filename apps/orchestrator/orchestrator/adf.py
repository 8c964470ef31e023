"""The ADF Custom activity contract (contracts §3): activity.json in, outputs.json out."""

from __future__ import annotations

import json
from dataclasses import MISSING, Field, dataclass, fields
from pathlib import Path
from typing import Any

from orchestrator import passthrough
from orchestrator.outcome import BagResult, BagStatus
from orchestrator.report import SKIPPED_SHOWN, skipped_summary

ACTIVITY_FILE = "activity.json"
OUTPUTS_FILE = "outputs.json"
# ADF refuses a customOutput of 2 MB or more; stay well below it.
OUTPUTS_LIMIT_BYTES = 2_000_000
OUTPUTS_BUDGET_BYTES = 1_500_000


class ActivityError(ValueError):
    """activity.json is missing a setting or cannot be read (message names it)."""


@dataclass(frozen=True)
class ActivitySettings:
    """`typeProperties.extendedProperties` of the Custom activity (all strings)."""

    input_path: str
    output_path: str
    format: str
    batch_account_endpoint: str
    execution_pool_id: str
    processor_image: str
    registry_server: str
    # What the orchestrator authenticates with to Batch and Key Vault (ManagedIdentityCredential).
    orchestrator_identity_client_id: str
    # What container tasks pull the image and upload their logs with (the execution pool's).
    execution_identity_resource_id: str
    mount_path: str
    task_logs_container_url: str
    run_id: str = ""  # empty when run by hand: the job id then comes from the paths
    key_vault_uri: str = ""
    app_insights_secret_name: str = ""
    timeout_minutes: str = "720"
    # https://<account>.blob.core.windows.net/<container>: the mounted container's URL, from
    # which each bag's source_url in manifest.json is made (docs/contracts.md §3).
    data_lake_url: str = ""
    # The blob a storage event names, `<container>/<folder>/<file>` (@triggerBody().folderPath
    # and fileName): the run takes only that bag (orchestrator --bag). Empty: the whole input.
    bag_path: str = ""
    # Where quarantined bags are moved (orchestrator --quarantine-to); empty: left in place.
    quarantine_path: str = ""
    # The lake's folder in that container (`lake/`): after the run its rows are committed
    # there (docs/lakehouse.md, "On Azure"); empty: no lake commit.
    lake_path: str = ""
    # The processor options (passthrough.TABLE), by pipeline parameter name, as ADF evaluated
    # them: '' (the pipeline's default) means the option is not given.
    processor_options: tuple[tuple[str, str], ...] = ()

    @property
    def timeout_seconds(self) -> float:
        try:
            minutes = float(self.timeout_minutes)
        except ValueError:
            raise ActivityError(
                f"timeoutMinutes {self.timeout_minutes!r} is not a number: set the pipeline's "
                "timeout parameter to a number of minutes"
            ) from None
        if minutes <= 0:
            raise ActivityError("timeoutMinutes must be positive")
        return minutes * 60


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _setting_fields() -> list[Field[Any]]:
    return [field for field in fields(ActivitySettings) if field.name != "processor_options"]


def extended_property_keys() -> set[str]:
    """The `extendedProperties` keys the orchestrator reads (docs/contracts.md §3)."""
    return {_camel(field.name) for field in _setting_fields()} | set(passthrough.parameters())


def read_activity(path: Path) -> ActivitySettings:
    """Read and check the settings ADF wrote for this activity run."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ActivityError(f"cannot read {path}: {error}") from None
    props = (
        document.get("typeProperties", {}).get("extendedProperties")
        if isinstance(document, dict)
        else None
    )
    if not isinstance(props, dict):
        raise ActivityError(
            f"{path} has no typeProperties.extendedProperties: the pipeline's Custom activity "
            "must pass the orchestrator's settings there (docs/contracts.md §3)"
        )
    values: dict[str, str] = {}
    missing: list[str] = []
    unevaluated: list[str] = []
    for field in _setting_fields():
        key = _camel(field.name)
        value = props.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if field.default is MISSING:  # no default: required
                missing.append(key)
            continue
        if not isinstance(value, str) or value.lstrip().startswith("@"):
            unevaluated.append(f"{key}={value!r}")
            continue
        values[field.name] = value.strip()
    options = _processor_options(props, unevaluated)
    if unevaluated:
        # ADF writes expression objects or '@...' text when a pipeline passes an expression it
        # did not evaluate; using them as paths would extract the wrong thing, silently.
        raise ActivityError(
            f"{path}: extendedProperties {', '.join(unevaluated)} is not a plain string: the "
            "pipeline must pass evaluated values (docs/contracts.md §3); redeploy it (`pulumi up`)"
        )
    if missing:
        raise ActivityError(
            f"{path}: extendedProperties lacks {', '.join(missing)}: redeploy the pipeline "
            "(`pulumi up`) so the Custom activity passes every setting in docs/contracts.md §3"
        )
    return ActivitySettings(**values, processor_options=options)


def _processor_options(
    props: dict[str, Any], unevaluated: list[str]
) -> tuple[tuple[str, str], ...]:
    """The pass-through options' values (passthrough.py), checked later with the command line's."""
    options: list[tuple[str, str]] = []
    for key in passthrough.parameters():
        value = props.get(key)
        if value is None:  # a pipeline deployed before the option existed: not given
            continue
        if not isinstance(value, str) or value.lstrip().startswith("@"):
            unevaluated.append(f"{key}={value!r}")
            continue
        options.append((key, value))
    return tuple(options)


def _bag_entry(result: BagResult) -> dict[str, Any]:
    known = result.counts.known  # unknown counts are null: the manifest was not read in time
    entry: dict[str, Any] = {
        "bag": str(result.bag),
        "status": str(result.status),
        "output": str(result.output),
        "topics": result.counts.topics if known else None,
        "messages": result.counts.messages if known else None,
        "files": result.counts.files if known else None,
    }
    if result.failed_task is not None:
        entry["failedTask"] = result.failed_task.task_id
        entry["exitCode"] = result.failed_task.exit_code
        entry["reason"] = _last_line(result.failed_task.stderr_tail) or result.failed_task.reason
    elif result.counts.skipped:
        entry["reason"] = skipped_summary(result.counts.skipped)
    elif result.status is BagStatus.NOT_RUN:
        entry["reason"] = "the run stopped before any task of this bag began"
    elif result.note:
        entry["reason"] = result.note  # quarantined, waiting or busy: why
    if result.counts.skipped:
        # The budget loop below keeps the document under ADF's cap, entry by entry.
        entry["skipped"] = [
            {"topic": topic, "reason": why} for topic, why in result.counts.skipped[:SKIPPED_SHOWN]
        ]
        entry["skippedCount"] = len(result.counts.skipped)
    return entry


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def summary_message(
    results: list[BagResult], *, timed_out: bool, timeout_minutes: float | None = None
) -> str:
    """One line saying what went wrong ('' when nothing did): the pipeline's Fail activity
    shows it as the run's error (docs/data-factory.md)."""
    unfinished = [result for result in results if not result.ok]
    if timed_out:
        after = f" after {timeout_minutes:g} min" if timeout_minutes is not None else ""
        return f"timed out{after}: {len(unfinished)} of {len(results)} bags not finished"
    if not unfinished:
        return ""
    first = unfinished[0]
    detail = f"{first.bag}"
    if first.failed_task is not None:
        code = first.failed_task.exit_code
        detail += f": exit {code if code is not None else 'none'}"
        reason = _last_line(first.failed_task.stderr_tail) or first.failed_task.reason
        detail += f": {reason}" if reason else ""
    more = (
        f" (and {len(unfinished) - 1} more: see customOutput.results)"
        if len(unfinished) > 1
        else ""
    )
    return f"{len(unfinished)} of {len(results)} bags failed: {detail[:1000]}{more}"


def outputs_document(
    job_id: str,
    output_path: str,
    results: list[BagResult],
    *,
    timed_out: bool,
    timeout_minutes: float | None = None,
    budget_bytes: int = OUTPUTS_BUDGET_BYTES,
) -> dict[str, Any]:
    """ADF's customOutput: totals always, per-bag entries as long as they fit.

    Failed bags come first, so a huge run still lists what went wrong. `succeeded` and
    `message` are what the pipeline's If Condition and Fail activities read.
    """
    counts = {status.value: 0 for status in BagStatus}
    for result in results:
        counts[result.status.value] += 1
    ordered = sorted(results, key=lambda result: (result.ok, str(result.bag)))
    document: dict[str, Any] = {
        "jobId": job_id,
        "outputPath": output_path,
        "succeeded": all(result.ok for result in results) and not timed_out,
        "message": summary_message(ordered, timed_out=timed_out, timeout_minutes=timeout_minutes),
        "timedOut": timed_out,
        "bags": {"total": len(results), **counts},
        "messages": sum(result.counts.messages for result in results),
        "files": sum(result.counts.files for result in results),
        "countsUnknown": sum(1 for result in results if not result.counts.known),
        "results": [],
        "resultsOmitted": 0,
    }
    used = len(json.dumps(document))
    for index, result in enumerate(ordered):
        entry = _bag_entry(result)
        size = len(json.dumps(entry)) + 2
        if used + size > budget_bytes:
            document["resultsOmitted"] = len(ordered) - index
            break
        document["results"].append(entry)
        used += size
    return document


def error_document(job_id: str, output_path: str, error: str) -> dict[str, Any]:
    """customOutput of a run that could not finish: nothing is known of its bags."""
    document = outputs_document(job_id, output_path, [], timed_out=False)
    document.update(succeeded=False, error=error[:2000], message=error[:1000])
    return document


def write_outputs(path: Path, document: dict[str, Any]) -> None:
    """Write outputs.json whole (temporary file, then rename)."""
    text = json.dumps(document)
    if len(text.encode("utf-8")) >= OUTPUTS_LIMIT_BYTES:
        raise AssertionError("outputs.json over ADF's limit: the budget is wrong")
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
