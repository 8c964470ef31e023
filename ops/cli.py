"""`python -m ops`: run the pipeline of a deployed stack, or keep the README's config reference in
sync with Pulumi.yaml."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError

from ops import config_reference, query
from ops.azure_errors import CredentialSetupError, Scope, explain
from ops.run_state import Parameters
from ops.stack_outputs import STACK_OUTPUTS_ENV, StackOutputsError, load_stack_outputs
from orchestrator import passthrough

ARM_ENDPOINT_ENV = "AZURE_RESOURCE_MANAGER_ENDPOINT"
# The pipeline's `format` values (docs/contracts.md §2; tests/test_contracts.py holds it equal to
# the processor's, the orchestrator's and infra/components/adf_pipeline.py OUTPUT_FORMATS).
FORMATS = ("csv", "parquet")
# The extract-bags pipeline's parameters (tests/test_contracts.py holds them equal to
# infra/components/adf_pipeline.py's): the paths, the format, the lake's folder, the one bag a
# storage event names and the quarantine folder, and the processor options the orchestrator
# passes through (orchestrator/passthrough.py), whose switches are booleans.
PIPELINE_PARAMETERS = (
    "inputPath",
    "outputPath",
    "format",
    "lakePath",
    "bagPath",
    "quarantinePath",
    *passthrough.parameters(),
)
BOOLEAN_PARAMETERS = tuple(
    row.parameter for row in passthrough.TABLE if row.kind is passthrough.Kind.SWITCH
)
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _pipeline_parameter(text: str) -> tuple[str, str | bool]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE (e.g. format=parquet)")
    if key not in PIPELINE_PARAMETERS:
        raise argparse.ArgumentTypeError(
            f"{key!r} is not a parameter of the pipeline: it takes {', '.join(PIPELINE_PARAMETERS)}"
        )
    if key in BOOLEAN_PARAMETERS:
        if value.strip().lower() not in ("true", "false"):
            raise argparse.ArgumentTypeError(f"{key} {value!r} is not true or false")
        return key, value.strip().lower() == "true"
    return key, value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be above zero")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must not be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_following_options(_add_run(commands))
    _add_config_reference(commands)
    query.add_parser(commands)
    return parser


def _add_run(commands: Any) -> argparse.ArgumentParser:  # commands: add_subparsers()
    """`ops run` and what the run is given: the stack, the paths, the pipeline's parameters."""
    run: argparse.ArgumentParser = commands.add_parser(
        "run",
        help="trigger the extract-bags pipeline of a stack and follow it to the end",
        description=(
            "Trigger the stack's extract-bags pipeline through the Data Factory management API "
            "(DefaultAzureCredential), show its progress, and print a summary. Exit 0 when the "
            "run succeeded, 1 when it failed, was cancelled or timed out, 2 on bad input."
        ),
    )
    run.add_argument(
        "--stack-outputs",
        metavar="FILE|-",
        help=f"`pulumi stack output --json` saved to FILE, or - for standard input "
        f"(default: the JSON in ${STACK_OUTPUTS_ENV})",
    )
    run.add_argument(
        "--input-path",
        metavar="PATH",
        help="bags to process, relative to the data container (default: the stack's rawPath)",
    )
    run.add_argument(
        "--output-path",
        metavar="PATH",
        help="where results go, relative to the data container (default: extractedPath)",
    )
    run.add_argument("--format", choices=FORMATS, help="table format (default: the pipeline's)")
    run.add_argument(
        "--parameter",
        action="append",
        type=_pipeline_parameter,
        default=[],
        metavar="KEY=VALUE",
        help="any other pipeline parameter (repeatable): sliceStart, syncReference, video=true... "
        '(docs/data-factory.md "Processor options")',
    )
    return run


def _add_following_options(run: argparse.ArgumentParser) -> None:
    """How `ops run` follows the run, and what it reports."""
    run.add_argument(
        "--timeout",
        type=_positive,
        default=120.0,
        metavar="MINUTES",
        help="give up after this long (default: %(default)g)",
    )
    run.add_argument(
        "--keep-running-on-timeout",
        action="store_true",
        help="on timeout, leave the run going instead of cancelling it and its Batch job",
    )
    run.add_argument(
        "--poll-interval",
        type=_positive,
        default=15.0,
        metavar="SECONDS",
        help="how often to ask for progress (default: %(default)g)",
    )
    run.add_argument(
        "--min-bags",
        type=_count,
        default=0,
        metavar="N",
        help="fail unless at least N bags were extracted (CI: proves the run did real work)",
    )
    run.add_argument(
        "--json", action="store_true", help="print the summary as JSON (progress stays on stderr)"
    )
    run.add_argument(
        "--verbose",
        action="store_true",
        help="on an Azure error, also print the SDKs' full text (every credential tried, the "
        "service's error body) after the one-line cause",
    )
    run.add_argument(
        "--arm-endpoint",
        default=os.environ.get(ARM_ENDPOINT_ENV) or None,
        metavar="URL",
        help=f"Azure Resource Manager endpoint (default: ${ARM_ENDPOINT_ENV}, else the cloud "
        "chosen by AZURE_SDK_CLOUD_CONF, else Azure public cloud)",
    )


def _add_config_reference(commands: Any) -> None:
    reference = commands.add_parser(
        "config-reference",
        help="write the README's configuration reference from Pulumi.yaml's config schema",
    )
    reference.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 when the README is out of date",
    )
    reference.add_argument("--project", default=str(config_reference.PULUMI_YAML))
    reference.add_argument("--readme", default=str(config_reference.README))


def main(
    argv: Sequence[str] | None = None,
    *,
    credential: TokenCredential | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    if args.command == "config-reference":
        return config_reference.main(args.project, args.readme, check=args.check, stream=err)
    if args.command == "query":
        return query.run(args, out)

    problem = _options_problem(dict(args.parameter))
    if problem:
        print(f"ops run: {problem}", file=err)
        return EXIT_USAGE
    try:
        outputs = load_stack_outputs(args.stack_outputs, stdin=stdin)
    except StackOutputsError as error:
        print(f"ops run: {error}", file=err)
        return EXIT_USAGE

    from ops.run_command import RunRequest, run_pipeline  # Azure SDK clients: imported on use

    parameters: Parameters = {
        "inputPath": args.input_path or outputs.raw_path,
        "outputPath": args.output_path or outputs.extracted_path,
        **({"format": args.format} if args.format else {}),
        **dict(args.parameter),
    }
    request = RunRequest(
        parameters=parameters,
        timeout_seconds=args.timeout * 60,
        poll_seconds=args.poll_interval,
        cancel_on_timeout=not args.keep_running_on_timeout,
        as_json=args.json,
        min_bags=args.min_bags,
        arm_endpoint=args.arm_endpoint,
    )
    # azure-identity logs every credential it tried as a WARNING; with no logging configured,
    # Python prints that to stderr (logging.lastResort), a page before our one line. --verbose
    # prints it (and the full error) on purpose instead.
    _quiet_azure_logging(verbose=args.verbose)
    scope = Scope(factory=outputs.data_factory_name, batch_account=outputs.batch_account_name)
    try:
        return EXIT_OK if run_pipeline(outputs, request, credential, out, err) else EXIT_FAILED
    except (AzureError, CredentialSetupError) as error:
        print(f"ops run: {explain(error, scope)}", file=err)
        if args.verbose:
            print(f"(full text: {error})", file=err)
    except KeyboardInterrupt:
        return 130  # the conventional status after Ctrl-C; the run id was printed above
    return EXIT_FAILED


def _options_problem(parameters: dict[str, str | bool]) -> str:
    """The orchestrator's own check of the processor options (orchestrator/passthrough.py),
    made before the run starts rather than minutes later on the orchestrator node."""
    given = {
        key: str(value)
        for key, value in parameters.items()
        if key in passthrough.BY_PARAMETER and value is not False
    }
    try:
        passthrough.settle(None, given)
    except passthrough.OptionsError as error:
        return str(error)
    return ""


def _quiet_azure_logging(*, verbose: bool) -> None:
    azure_logger = logging.getLogger("azure")
    if verbose:
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    elif not azure_logger.handlers:
        azure_logger.addHandler(logging.NullHandler())  # counts as handled: no lastResort
