"""The seams between infra, the processor, the orchestrator and ops, asserted across the parts.

The parts are deployed apart (the processor in its image, the orchestrator in its Batch
application package, the Pulumi program and ops on a workstation or CI), so none imports another;
each keeps its copy of what they share, and these tests hold the copies equal
(docs/contracts.md). A change on one side fails here until the others follow.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from infra.components import adf_pipeline
from ops import cli as ops_cli
from orchestrator import freshness, outcome, passthrough
from orchestrator import manifest as orchestrator_manifest
from orchestrator import plan as orchestrator_plan
from orchestrator.cli import _parser as orchestrator_parser
from processor import cli as processor_cli
from processor import manifest as processor_manifest
from processor import options as processor_options
from processor import output as processor_output
from processor import run as processor_run
from processor import tables as processor_tables

FORMATS = adf_pipeline.OUTPUT_FORMATS  # what the pipeline's `format` parameter accepts


def format_choices(parser: argparse.ArgumentParser) -> list[tuple[str, ...]]:
    """The choices of every `--format` option, in the parser and all its subcommands."""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if "--format" in action.option_strings:
            found.append(tuple(action.choices or ()))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += format_choices(sub)
    return found


def test_every_part_offers_the_same_output_formats() -> None:
    assert processor_options.FORMATS == FORMATS
    assert tuple(processor_tables.SUFFIX) == FORMATS
    assert orchestrator_plan.FORMATS == FORMATS
    assert ops_cli.FORMATS == FORMATS
    # And what each command line takes (the processor's extract, the orchestrator's extract,
    # `ops run --format`): none is a list of its own.
    for parser in (processor_cli.parser(), orchestrator_parser(), ops_cli.build_parser()):
        choices = format_choices(parser)
        assert choices, f"{parser.prog} has no --format"
        assert set(choices) == {FORMATS}, parser.prog


def test_the_orchestrator_reads_the_processors_exit_codes() -> None:
    processor = (
        processor_run.EXIT_OK,
        processor_run.EXIT_FAILED,
        processor_run.EXIT_BAD_INPUT,
        processor_run.EXIT_PARTIAL,
    )
    orchestrator = (
        outcome.EXIT_OK,
        outcome.EXIT_FAILURE,
        outcome.EXIT_BAD_INPUT,
        outcome.EXIT_PARTIAL,
    )
    assert orchestrator == processor == (0, 1, 2, 3)  # docs/contracts.md §2, "Exit status"


@pytest.mark.parametrize(
    "files",
    [(), ("_SUCCESS",), ("manifest.json",), ("manifest.json", "_SUCCESS"), ("topic.csv",)],
)
def test_complete_means_the_same_to_the_processor_and_the_orchestrator(
    tmp_path: Path, files: tuple[str, ...]
) -> None:
    for name in files:
        (tmp_path / name).write_text("{}", encoding="utf-8")
    verdict = processor_output.is_complete(tmp_path)
    assert orchestrator_manifest.is_complete(tmp_path) == verdict
    assert verdict == (set(files) >= {"manifest.json", "_SUCCESS"})


def test_the_output_folder_markers_have_one_spelling() -> None:
    assert orchestrator_manifest.MANIFEST == processor_output.MANIFEST
    assert orchestrator_manifest.SUCCESS_MARKER == processor_output.SUCCESS


# --- the processor options passed through (issue 13) ----------------------------------------

# One run of each option group, as `python -m orchestrator extract` flags.
PASS_THROUGH_RUNS = {
    "none": [],
    "slice": ["--start", "+5", "--end", "2023-11-14T22:13:20Z"],
    "slice start only": ["--start", "1700000000000000000"],
    "sync": ["--sync", "/camera", "--with", "/imu", "gps"],
    "sync in full": [
        "--sync", "camera", "--with", "/imu", "--sync-tolerance", "0.05",
        "--sync-method", "last-before", "--sync-clock", "header",
    ],
    "point clouds": ["--point-clouds", "pcd"],
    "video": ["--video"],
}  # fmt: skip


def processor_flags() -> set[str]:
    extract = next(
        action.choices["extract"]
        for action in processor_cli.parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return {flag for action in extract._actions for flag in action.option_strings}


def test_the_pipeline_parameters_are_the_orchestrators_pass_through_options() -> None:
    table = passthrough.TABLE
    assert list(adf_pipeline.PASS_THROUGH_PARAMETERS) == [row.parameter for row in table]
    for row in table:
        default = adf_pipeline.PASS_THROUGH_PARAMETERS[row.parameter]
        # A switch is a boolean parameter, anything else a string.
        assert isinstance(default, bool) == (row.kind is passthrough.Kind.SWITCH), row.parameter
        # Each default means "not given": ADF writes it as a string (string() of a boolean).
        text = ("True" if default else "False") if isinstance(default, bool) else default
        assert passthrough.settle(None, {row.parameter: text}).processor_args() == ()
    assert (
        *adf_pipeline.PIPELINE_PARAMETERS,
        *adf_pipeline.EVENT_PARAMETERS,
        *adf_pipeline.PASS_THROUGH_PARAMETERS,
    ) == ops_cli.PIPELINE_PARAMETERS
    assert (
        tuple(
            key
            for key, value in adf_pipeline.PASS_THROUGH_PARAMETERS.items()
            if isinstance(value, bool)
        )
        == ops_cli.BOOLEAN_PARAMETERS
    )


@pytest.mark.parametrize("run", list(PASS_THROUGH_RUNS))
def test_what_the_processor_records_is_what_freshness_expects(
    run: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orchestrator's command line for each option, run through the processor's own parser,
    records the options freshness.py expects: the same output is fresh, a different one not."""
    argv = PASS_THROUGH_RUNS[run]
    missing = {arg for arg in argv if arg.startswith("--")} - processor_flags()
    if missing:
        pytest.skip(f"the processor has no {', '.join(sorted(missing))} yet (issue 13)")
    given = passthrough.settle(orchestrator_parser().parse_args(["extract", *argv]))
    captured: dict[str, processor_options.Options] = {}

    def extract(*args: object, options: processor_options.Options, **kwargs: object) -> int:
        captured["options"] = options
        return 0

    monkeypatch.setattr(processor_run, "extract", extract)
    bag = tmp_path / "a.bag"
    bag.write_bytes(b"")
    code = processor_cli.main(
        ["extract", str(bag), str(tmp_path / "out"), "--format", "csv", *given.processor_args()]
    )
    assert code == 0
    record = processor_manifest.options_record(captured["options"])
    made = tmp_path / "made"
    made.mkdir()
    (made / "manifest.json").write_text(json.dumps({"options": record}), encoding="utf-8")

    assert freshness.mismatch(made, freshness.wanted_options("csv", [], "dotted", given)) == ""
    if argv:
        plain = freshness.wanted_options("csv", [], "dotted", passthrough.ProcessorOptions())
        assert freshness.mismatch(made, plain) != ""
