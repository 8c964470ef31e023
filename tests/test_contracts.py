"""The seams between infra, the processor, the orchestrator and ops, asserted across the parts.

The parts are deployed apart (the processor in its image, the orchestrator in its Batch
application package, the Pulumi program and ops on a workstation or CI), so none imports another;
each keeps its copy of what they share, and these tests hold the copies equal
(docs/contracts.md). A change on one side fails here until the others follow.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from infra.components import adf_pipeline
from ops import cli as ops_cli
from orchestrator import manifest as orchestrator_manifest
from orchestrator import outcome
from orchestrator import plan as orchestrator_plan
from orchestrator.cli import _parser as orchestrator_parser
from processor import cli as processor_cli
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
