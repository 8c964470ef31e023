"""`python -m orchestrator`: the command line, by hand or started by the ADF Custom activity."""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from orchestrator import adf, intake, ledger, passthrough, telemetry
from orchestrator.claims import CLAIMS_DIR, Claims
from orchestrator.discovery import InputError, find_bags
from orchestrator.executors import (
    MOUNTS_DIR_ENV,
    Execution,
    Executor,
    ExecutorError,
    Progress,
    ProgressSink,
)
from orchestrator.ids import job_id_for_manual_run, job_id_for_run
from orchestrator.outcome import BagResult
from orchestrator.plan import COLUMN_NAMES, FORMATS, GIB, Plan, PlanError, PlanOptions, build_plan
from orchestrator.report import bag_results, counts_under, failure_notes, summary_table
from orchestrator.stopping import Stopped, stop_on_signals

if TYPE_CHECKING:  # azure-core comes with the [batch] extra; local runs need none
    from azure.core.credentials import TokenCredential

    from orchestrator.lakehouse import LakeResult
    from orchestrator.lakehouse.delta import Target

EXIT_OK = 0
EXIT_FAILED = 1  # a bag failed or the run timed out
EXIT_USAGE = 2  # bad input or settings: nothing was started
DEFAULT_TIMEOUT_MINUTES = 720.0
# A claim outlives its run's timeout by this much: the run reports and releases it after its
# tasks end; only a run that died leaves one to expire (orchestrator/claims.py).
CLAIM_MARGIN_SECONDS = 900.0


class UsageError(ValueError):
    """Bad input or settings, reported in one line naming the problem and the fix."""


def _positive_int(text: str) -> int:
    """argparse type of a count: exit 2 with `--workers: '0' is not a positive whole number`."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _parser() -> argparse.ArgumentParser:
    # Over 60 lines: one declarative table of the commands and their options.
    parser = argparse.ArgumentParser(
        prog="python -m orchestrator",
        description="Extract ROS bags with the processor, on Azure Batch or locally.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    extract = commands.add_parser(
        "extract",
        help="extract every bag under --input into --output",
        description="With activity.json in the working directory (the ADF Custom activity), "
        "settings not given here come from its extendedProperties and outputs.json is written.",
    )
    extract.add_argument("--input", help="a bag file, a ROS 2 bag folder, or a folder of bags")
    extract.add_argument("--output", help="folder that receives <bag name>/ per bag")
    extract.add_argument("--format", choices=FORMATS, help="table format (default: csv)")
    extract.add_argument(
        "--executor",
        choices=("local", "batch"),
        help="default: batch with activity.json, else local",
    )
    extract.add_argument(
        "--timeout", type=float, metavar="MINUTES", help="stop the run after this long"
    )
    extract.add_argument(
        "--workers", type=_positive_int, help="local: parallel processes (default: cores)"
    )
    extract.add_argument(
        "--shard-size-gb", type=float, default=4.0, help="split bags larger than this (default: 4)"
    )
    extract.add_argument(
        "--force",
        action="store_true",
        help="re-extract bags whose output is complete, and retry quarantined bags",
    )
    extract.add_argument(
        "--bag",
        help="only this bag below --input (a storage event's blob: a bag file, a ROS 2 "
        "folder or a file in one); its output goes where a sweep of --input puts it",
    )
    extract.add_argument(
        "--quarantine-to",
        metavar="FOLDER",
        help="move unreadable bags (processor exit 2) there, e.g. raw/quarantine; default: "
        "leave them in place (either way they are not retried until they change)",
    )
    extract.add_argument(
        "--topics", nargs="+", default=[], metavar="TOPIC", help="only these topics"
    )
    extract.add_argument(
        "--column-names",
        choices=COLUMN_NAMES,
        default="dotted",
        help="nested fields as header.stamp.sec (default) or header_stamp_sec (no quoting "
        "in Spark SQL)",
    )
    extract.add_argument(
        "--activity",
        type=Path,
        help=f"the ADF activity file (default: ./{adf.ACTIVITY_FILE} if present)",
    )
    extract.add_argument(
        "--poll-seconds",
        type=float,
        default=5.0,
        help="batch: first wait between task-count polls, backing off to 60 (default: 5)",
    )
    extract.add_argument(
        "--lake",
        help="after the run, commit its rows into the Delta tables under this folder; with "
        "the batch executor a data lake path (default: activity.json's lakePath) "
        "(docs/lakehouse.md)",
    )
    extract.add_argument("--verbose", action="store_true", help="debug logs, SDK requests included")
    passthrough.add_arguments(extract)
    commands.add_parser(
        "self-check", help="check this node can run the orchestrator (pool start task)"
    )
    return parser


@dataclass
class RunRecord:
    """What is known of this run so far: enough to write outputs.json whatever happens."""

    for_adf: bool = False
    job_id: str = ""
    output_path: str = ""


@dataclass(frozen=True)
class Request:
    """What to extract, where: paths relative to `data_root`."""

    data_root: Path
    input_path: PurePosixPath
    output_path: PurePosixPath
    job_id: str
    bag_path: PurePosixPath | None = None  # only this bag (--bag)
    quarantine_path: PurePosixPath | None = None  # where unreadable bags go (--quarantine-to)


def _relative_to_root(path: str) -> PurePosixPath:
    """A data lake path (`raw/`, `/raw/x.bag`) relative to the container root."""
    relative = PurePosixPath(path.strip().lstrip("/"))
    if ".." in relative.parts:
        raise UsageError(f"path {path!r} leaves the data lake container: remove the '..'")
    return relative


def _local_request(input_arg: str, output_arg: str, fmt: str) -> Request:
    source, target = Path(input_arg).resolve(), Path(output_arg).resolve()
    root = Path(os.path.commonpath([source, target]))
    if target == root:
        raise UsageError(
            f"--output {output_arg} must not contain --input {input_arg}: choose another folder"
        )
    input_path = PurePosixPath(source.relative_to(root).as_posix())
    output_path = PurePosixPath(target.relative_to(root).as_posix())
    job_id = job_id_for_manual_run(str(input_path), str(output_path), fmt)
    return Request(root, input_path, output_path, job_id)


def _progress_printer() -> ProgressSink:
    started = time.monotonic()

    def show(progress: Progress) -> None:
        print(
            f"[{time.monotonic() - started:6.1f} s] {progress.completed}/{progress.total} tasks "
            f"done, {progress.running} running, {progress.active} waiting, "
            f"{progress.failed} failed",
            flush=True,
        )

    return show


def self_check() -> int:
    """Import what the batch executor needs and say which Python runs it."""
    import azure.batch
    import azure.identity
    import azure.keyvault.secrets

    print(
        f"orchestrator self-check ok: Python {platform.python_version()}, "
        f"azure-batch {azure.batch.__version__}, azure-identity {azure.identity.__version__}, "
        f"azure-keyvault-secrets {azure.keyvault.secrets.__version__}"
    )
    return EXIT_OK


def _batch_executor(
    settings: adf.ActivitySettings,
    timeout_seconds: float,
    credential: TokenCredential,
    client_options: Mapping[str, Any],
    poll_seconds: float,
) -> Executor:
    from orchestrator.executors.batch import BatchExecutor, PollSchedule
    from orchestrator.executors.batch_client import make_batch_client
    from orchestrator.executors.batch_tasks import ContainerTaskSettings

    client = make_batch_client(settings.batch_account_endpoint, credential, **client_options)
    return BatchExecutor(
        client,
        settings.execution_pool_id,
        ContainerTaskSettings(
            image=settings.processor_image,
            registry_server=settings.registry_server,
            execution_identity_resource_id=settings.execution_identity_resource_id,
            mount_path=settings.mount_path,
            task_logs_container_url=settings.task_logs_container_url,
        ),
        timeout_seconds=timeout_seconds,
        poll=PollSchedule(initial=poll_seconds, maximum=max(poll_seconds, 60.0)),
    )


@dataclass(frozen=True)
class Settled:
    """What the command line and activity.json settle before any bag is looked for."""

    settings: adf.ActivitySettings | None  # None: not run by ADF (no activity.json)
    executor_kind: str  # "batch" | "local"
    options: PlanOptions
    request: Request
    timeout_seconds: float
    credential: TokenCredential | None  # the batch executor's; None for local runs
    lake: Target | None = None  # where the run's rows are committed; None: nowhere


def extract(
    args: argparse.Namespace,
    record: RunRecord,
    *,
    credential: TokenCredential | None = None,
    batch_client_options: Mapping[str, Any] | None = None,
    lake_storage_options: Mapping[str, str] | None = None,
) -> int:
    started = time.monotonic()
    run = _settle(args, record, credential, lake_storage_options)
    settings, request, timeout_seconds = run.settings, run.request, run.timeout_seconds
    record.job_id, record.output_path = request.job_id, str(request.output_path)
    excluded = [request.output_path]
    if request.quarantine_path is not None:
        excluded.append(request.quarantine_path)
    bags = find_bags(request.data_root, request.input_path, exclude=excluded, only=request.bag_path)
    if run.executor_kind == "local":
        _make_output_folder(request.data_root / request.output_path, args.output)
    claims = Claims(
        request.data_root / request.output_path / CLAIMS_DIR,
        request.job_id,
        timeout_seconds + CLAIM_MARGIN_SECONDS,
    )
    try:
        taken = intake.take_bags(
            request.data_root, request.output_path, bags, run.options, claims, request.job_id
        )
        intake.show(taken, bags, run.options, _say)
        plan = build_plan(
            request.job_id,
            request.input_path,
            request.output_path,
            bags,
            run.options,
            completed=taken.completed,
            held=taken.held,
            source_ids=taken.source_ids,
        )
        _print_plan(plan)
        if passed := run.options.processor.processor_args():
            print(f"every task's processor gets: {shlex.join(passed)}", flush=True)
        executor = _executor(args, run, batch_client_options or {})
        with telemetry.span(
            "extract", job_id=plan.job_id, bags=len(plan.bags), tasks=len(plan.tasks)
        ):
            execution = executor.run(plan, _progress_printer())
            # Inside the run's span: each bag's span is its child.
            return _report(
                plan,
                execution,
                request,
                settings is not None,
                time.monotonic() - started,
                timeout_seconds / 60,
                run.lake,
            )
    finally:
        claims.release_all()


def _say(line: str) -> None:
    print(line, flush=True)


def _settle(
    args: argparse.Namespace,
    record: RunRecord,
    credential: TokenCredential | None,
    lake_storage_options: Mapping[str, str] | None = None,
) -> Settled:
    """Settings from the command line over activity.json, checked; telemetry switched on."""
    activity_file = args.activity or (
        Path(adf.ACTIVITY_FILE) if Path(adf.ACTIVITY_FILE).is_file() else None
    )
    record.for_adf = activity_file is not None
    settings = adf.read_activity(activity_file) if activity_file else None
    executor_kind = args.executor or ("batch" if settings else "local")
    fmt = args.format or (settings.format if settings and settings.format else "csv")
    input_arg = args.input or (settings.input_path if settings else None)
    output_arg = args.output or (settings.output_path if settings else None)
    if not input_arg or not output_arg:
        raise UsageError("--input and --output are required (or run with the ADF activity.json)")
    options = PlanOptions(
        output_format=fmt,
        shard_size_bytes=int(args.shard_size_gb * GIB),
        force=args.force,
        topics=tuple(args.topics),
        column_names=args.column_names,
        source_root_url=settings.data_lake_url if settings and executor_kind == "batch" else "",
        processor=passthrough.settle(
            args, dict(settings.processor_options) if settings else None, args.topics
        ),
    )
    timeout_seconds = _timeout_seconds(args.timeout, settings)

    connection_string = telemetry.connection_string_from_env()
    if executor_kind == "local":
        request = _local_request(input_arg, output_arg, fmt)
        request = _narrowed(request, args.bag, args.quarantine_to, local=True)
    else:
        if settings is None:
            raise UsageError(
                "the batch executor needs the settings ADF passes in activity.json: run it from "
                "the pipeline, or pass --activity FILE with the same extendedProperties"
            )
        request = _batch_request(settings, input_arg, output_arg, fmt)
        request = _narrowed(
            request,
            args.bag or _event_blob(settings),
            args.quarantine_to or settings.quarantine_path or None,
            local=False,
        )
        credential = credential or _node_credential(settings)
        if not connection_string and settings.key_vault_uri and settings.app_insights_secret_name:
            connection_string = telemetry.connection_string_from_key_vault(
                settings.key_vault_uri, settings.app_insights_secret_name, credential
            )
    telemetry.enable_azure_monitor(connection_string)
    lake = _with_storage_options(
        _lake(args.lake, settings if executor_kind == "batch" else None, request),
        lake_storage_options,
    )
    return Settled(settings, executor_kind, options, request, timeout_seconds, credential, lake)


def _node_credential(settings: adf.ActivitySettings) -> TokenCredential:
    """The orchestrator node's own identity, the one its pool has (infra/components/batch.py)."""
    from azure.identity import ManagedIdentityCredential

    return ManagedIdentityCredential(client_id=settings.orchestrator_identity_client_id)


def _with_storage_options(lake: Target | None, extra: Mapping[str, str] | None) -> Target | None:
    """`extra` (tests: Azurite's endpoint) over the lake's own storage options."""
    if lake is None or not extra:
        return lake
    return replace(lake, storage_options={**(lake.storage_options or {}), **extra})


def _lake(
    given: str | None, settings: adf.ActivitySettings | None, request: Request
) -> Target | None:
    """Where the run's rows go: --lake as given locally; on Batch, the data lake path --lake or
    activity.json's lakePath names, committed over abfss:// as the node's identity."""
    from orchestrator.lakehouse.delta import Target

    if settings is None:
        return Target(given) if given else None
    lake_path = given or settings.lake_path
    if not lake_path:
        return None
    from orchestrator.lakehouse.location import LakeLocationError, azure_lake

    try:
        return azure_lake(
            settings.data_lake_url,
            _relative_to_root(lake_path),
            settings.orchestrator_identity_client_id,
            request.data_root,
        )
    except LakeLocationError as error:
        raise UsageError(str(error)) from None


def _executor(
    args: argparse.Namespace, run: Settled, batch_client_options: Mapping[str, Any]
) -> Executor:
    if run.executor_kind == "batch" and run.settings is not None and run.credential is not None:
        return _batch_executor(
            run.settings,
            run.timeout_seconds,
            run.credential,
            batch_client_options,
            args.poll_seconds,
        )
    from orchestrator.executors.local import LocalExecutor

    request = run.request
    return LocalExecutor(
        request.data_root,
        request.data_root / request.output_path / "_logs" / request.job_id,
        workers=args.workers,
        timeout_seconds=run.timeout_seconds,
    )


def _make_output_folder(folder: Path, given: str | None) -> None:
    """Local runs: the output folder is made before any task starts, so that a folder that cannot
    be made (`/proc/x`, below a file, no permission) is a one-line usage error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(
            f"--output {given or folder}: cannot create this folder ({error.strerror}): "
            "choose a folder you can write to"
        ) from None


def _timeout_seconds(minutes: float | None, settings: adf.ActivitySettings | None) -> float:
    if minutes is None:
        return settings.timeout_seconds if settings else DEFAULT_TIMEOUT_MINUTES * 60
    if minutes <= 0:
        raise UsageError("--timeout must be a positive number of minutes")
    return minutes * 60


def _batch_request(
    settings: adf.ActivitySettings, input_arg: str, output_arg: str, fmt: str
) -> Request:
    """Paths on the orchestrator node: the data lake is mounted as on the execution pool."""
    mounts = os.environ.get(MOUNTS_DIR_ENV)
    if not mounts:
        raise UsageError(
            f"{MOUNTS_DIR_ENV} is not set: the batch executor runs on a Batch node whose pool "
            "mounts the data lake; use --executor local elsewhere"
        )
    data_root = Path(mounts) / settings.mount_path
    if not data_root.is_dir():
        raise UsageError(
            f"the data lake mount {data_root} is missing: check the orchestrator pool's "
            f"mountConfiguration (relativeMountPath {settings.mount_path!r}) and its mount log "
            f"in {mounts}"
        )
    input_path, output_path = _relative_to_root(input_arg), _relative_to_root(output_arg)
    job_id = (
        job_id_for_run(settings.run_id)
        if settings.run_id
        else job_id_for_manual_run(str(input_path), str(output_path), fmt)
    )
    return Request(data_root, input_path, output_path, job_id)


def _event_blob(settings: adf.ActivitySettings) -> str | None:
    """The event's blob below the container: folderPath starts with the container's name
    (learn.microsoft.com/azure/data-factory/how-to-create-event-trigger, "folderPath")."""
    blob = settings.bag_path.strip().lstrip("/")
    if not blob:
        return None
    url = settings.data_lake_url.rstrip("/")
    container = url.rsplit("/", 1)[-1] if url else ""
    head, _, rest = blob.partition("/")
    return rest if container and head == container and rest else blob


def _narrowed(request: Request, bag: str | None, quarantine: str | None, *, local: bool) -> Request:
    """The request with --bag and --quarantine-to placed under its data root."""

    def placed(path: str, option: str) -> PurePosixPath:
        if not local:
            return _relative_to_root(path)
        absolute = Path(path).resolve()
        try:
            return PurePosixPath(absolute.relative_to(request.data_root).as_posix())
        except ValueError:
            raise UsageError(
                f"{option} {path} is not below {request.data_root} (where --input and "
                "--output are): choose a path there"
            ) from None

    return Request(
        request.data_root,
        request.input_path,
        request.output_path,
        request.job_id,
        placed(bag, "--bag") if bag else None,
        placed(quarantine, "--quarantine-to") if quarantine else None,
    )


def _bags(count: int) -> str:
    return f"{count} bag" if count == 1 else f"{count} bags"


def _print_plan(plan: Plan) -> None:
    done = sum(1 for bag in plan.bags if bag.already_done)
    sharded = sum(1 for bag in plan.bags if bag.shards > 1 and not bag.already_done)
    print(
        f"job {plan.job_id}: {_bags(len(plan.bags))}, {len(plan.tasks)} "
        + ("task" if len(plan.tasks) == 1 else "tasks")
        + (f", {done} already extracted" if done else "")
        + (f", {sharded} sharded" if sharded else ""),
        flush=True,
    )


def _report(
    plan: Plan,
    execution: Execution,
    request: Request,
    for_adf: bool,
    seconds: float,
    timeout_minutes: float,
    lake: Target | None = None,
) -> int:
    """Print the summary and, for ADF, write outputs.json.

    For ADF the exit status says whether the run was reported, not how its bags did: 0 ends
    the Custom activity successfully, so ADF does not retry it (a retry would redo a run whose
    verdict is known), and the pipeline's If Condition fails the run from outputs.json's
    `succeeded` (infra/components/data_factory.py). Run by hand, 1 means a bag failed.
    """
    if execution.previously_completed:
        print(f"job {plan.job_id} had already finished: reporting its results", flush=True)
    results = bag_results(plan, execution, counts_under(request.data_root))
    written = intake.settle(plan, results, request.data_root, request.quarantine_path, _say)
    telemetry.record_bags(plan, results, execution.outcomes)
    print(summary_table(results, seconds), flush=True)
    notes = failure_notes(results)
    committed, lake_error = (
        _commit_lake(results, request, lake, plan, written) if lake else (None, "")
    )
    if committed:
        notes.extend(
            f"lake: {bag} not committed: {why}" for bag, why in committed.conflicts.items()
        )
    if lake_error:
        notes.append(lake_error)
    for note in notes:
        print(note, file=sys.stderr, flush=True)
    if execution.timed_out:
        print(
            f"TIMED OUT: job {plan.job_id} was stopped before every task finished",
            file=sys.stderr,
            flush=True,
        )
    if execution.ended:
        print(f"ENDED: {execution.ended}", file=sys.stderr, flush=True)
    if for_adf:
        document = adf.outputs_document(
            plan.job_id,
            str(plan.output_path),
            results,
            timed_out=execution.timed_out,
            timeout_minutes=timeout_minutes,
        )
        if execution.ended:
            document.update(succeeded=False, error=execution.ended, message=execution.ended)
        if lake is not None:
            _lake_outputs(document, lake, committed, lake_error)
        adf.write_outputs(Path(adf.OUTPUTS_FILE), document)
        return EXIT_OK
    failed = execution.timed_out or bool(execution.ended) or any(not r.ok for r in results)
    failed = failed or bool(lake_error)
    return EXIT_FAILED if failed else EXIT_OK


def _lake_outputs(
    document: dict[str, Any], lake: Target, committed: LakeResult | None, error: str
) -> None:
    """outputs.json's `lake`: what was committed, or why nothing was (the run then failed)."""
    if committed is not None:
        document["lake"] = committed.as_json()
        return
    document["lake"] = {"lake": lake.root, "error": error}
    document["succeeded"] = False
    document["message"] = document["message"] or error


def _commit_lake(
    results: Sequence[BagResult],
    request: Request,
    lake: Target,
    plan: Plan,
    written: Mapping[PurePosixPath, ledger.Record],
) -> tuple[LakeResult | None, str]:
    """All of the run's tasks have finished: one Delta commit per table (docs/lakehouse.md).

    A commit that fails (storage refused, conflicts past the retries) is reported, not raised:
    the bags' outputs stand, and rerunning the run commits them. The catalog's rows carry the
    ledger's source ids and quarantines (docs/lakehouse.md "The catalog and the ledger")."""
    from orchestrator.lakehouse import Ledgered, commit_run

    ledgered = Ledgered(
        source_ids={bag.bag.path: bag.source_id for bag in plan.bags if bag.source_id},
        quarantined={
            bag: record.reason + (f" (moved to {record.moved_to})" if record.moved_to else "")
            for bag, record in written.items()
            if record.status == ledger.QUARANTINED
        },
    )
    try:
        committed = commit_run(results, request.data_root, lake, plan.job_id, ledgered)
    except Exception as error:  # deltalake and object store errors name the table and cause
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"lake {lake.root}: nothing committed: {first[:800]}; rerun to commit it"
    print(
        f"lake {lake.root}: {committed.bags} bags committed into {len(committed.tables)} "
        f"tables; fleet report {committed.report or '(none)'}",
        flush=True,
    )
    return committed, ""


def main(
    argv: Sequence[str] | None = None,
    *,
    credential: TokenCredential | None = None,
    batch_client_options: Mapping[str, Any] | None = None,
    lake_storage_options: Mapping[str, str] | None = None,
) -> int:
    args = _parser().parse_args(argv)
    if args.command == "self-check":
        return self_check()
    telemetry.configure_logging(args.verbose)
    record = RunRecord()
    try:
        with stop_on_signals():
            return extract(
                args,
                record,
                credential=credential,
                batch_client_options=batch_client_options,
                lake_storage_options=lake_storage_options,
            )
    except (
        UsageError,
        InputError,
        adf.ActivityError,
        PlanError,
        passthrough.OptionsError,
    ) as error:
        return _failed(record, error, EXIT_USAGE)
    except ExecutorError as error:
        return _failed(record, error, EXIT_FAILED)
    except Stopped as stop:
        stopped = f"stopped the tasks of job {record.job_id}" if record.job_id else "nothing ran"
        why = "the pipeline run was cancelled or the node is going away; " if record.for_adf else ""
        return _failed(record, RuntimeError(f"{stop}: {why}{stopped}"), EXIT_FAILED)
    except BaseException as error:
        # A bug: the traceback is for us, but ADF still gets a report that says what broke.
        _write_error_outputs(record, f"unexpected {type(error).__name__}: {error}")
        raise


def _failed(record: RunRecord, error: Exception, code: int) -> int:
    print(f"error: {error}", file=sys.stderr, flush=True)
    _write_error_outputs(record, str(error))
    return code


def _write_error_outputs(record: RunRecord, message: str) -> None:
    if record.for_adf:
        document = adf.error_document(record.job_id, record.output_path, message)
        adf.write_outputs(Path(adf.OUTPUTS_FILE), document)
