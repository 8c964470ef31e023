"""The processor options the orchestrator passes through to every task, as one table.

Each row is one processor option (issue 13, docs/orchestrator.md "Processor options"): its flag
(the same spelling on `python -m processor extract` and `python -m orchestrator extract`), the
ADF pipeline parameter that carries it (infra/components/adf_pipeline.py PASS_THROUGH_PARAMETERS,
the Custom activity's extendedProperties key of the same name), the key the processor records
it under in manifest.json `options` (freshness.py) and the catalog's bags column
(lakehouse/catalog.py). Adding an option is one row here, one in the pipeline's table, and the
processor's flag; tests/test_contracts.py holds the three equal.

The values are user input: they reach the processor as separate arguments (never a shell), one
`--flag=value` token for a single value so that a value beginning with `-` stays a value, and on
Batch quoted for Batch's word splitting (executors/batch_tasks.py).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Value = str | tuple[str, ...] | bool


class Kind(StrEnum):
    TEXT = "text"  # one value, passed as given
    NUMBER = "number"  # one non-negative number, passed as given, recorded as a float
    CHOICE = "choice"  # one of `choices`; the processor's default is not passed
    LIST = "list"  # one or more values; comma-separated in ADF
    SWITCH = "switch"  # on or off; a boolean ADF parameter


@dataclass(frozen=True)
class PassThrough:
    flag: str
    parameter: str  # the ADF pipeline parameter and extendedProperties key
    record_key: str  # its key in manifest.json options
    column: str  # the catalog's bags column (lakehouse/catalog.py)
    kind: Kind
    help: str
    metavar: str = ""
    choices: tuple[str, ...] = ()
    # What the processor does without the flag (CHOICE: its default choice), and so what
    # freshness takes a manifest without the key to mean (written before the option existed).
    default: str = ""
    needs: str = ""  # the parameter of an option this one means nothing without

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    def recorded(self, value: Value | None) -> Any:
        """The value the processor records in manifest.json options for `value` (None: absent)."""
        if value is None:
            if self.kind is Kind.SWITCH:
                return False
            return self.default or None
        if self.kind is Kind.NUMBER:
            return float(str(value))
        if self.kind is Kind.LIST:
            return list(value) if isinstance(value, tuple) else [str(value)]
        return value

    def processor_args(self, value: Value) -> tuple[str, ...]:
        if self.kind is Kind.SWITCH:
            return (self.flag,) if value else ()
        if self.kind is Kind.LIST:
            return (self.flag, *value) if isinstance(value, tuple) else (self.flag, str(value))
        return (f"{self.flag}={value}",)


TABLE: tuple[PassThrough, ...] = (
    PassThrough(
        "--start",
        "sliceStart",
        "start",
        "slice_start",
        Kind.TEXT,
        "extract from this time on: ns since the epoch, ISO 8601 with a zone, or seconds from "
        "the bag's start (docs/processor.md)",
        metavar="T",
    ),
    PassThrough(
        "--end",
        "sliceEnd",
        "end",
        "slice_end",
        Kind.TEXT,
        "extract up to this time (same forms as --start)",
        metavar="T",
    ),
    PassThrough(
        "--sync",
        "syncReference",
        "sync",
        "sync_reference",
        Kind.TEXT,
        "write one wide table on this reference topic's timestamps (needs --with)",
        metavar="REF",
        needs="syncWith",
    ),
    PassThrough(
        "--with",
        "syncWith",
        "sync_with",
        "sync_with",
        Kind.LIST,
        "the topics joined onto --sync's timestamps",
        metavar="TOPIC",
        needs="syncReference",
    ),
    PassThrough(
        "--sync-tolerance",
        "syncTolerance",
        "sync_tolerance",
        "sync_tolerance_s",
        Kind.NUMBER,
        "join a message only within this many seconds of the reference (processor's default)",
        metavar="SECONDS",
        needs="syncReference",
    ),
    PassThrough(
        "--sync-method",
        "syncMethod",
        "sync_method",
        "sync_method",
        Kind.CHOICE,
        "nearest message, or the last one before the reference (default: nearest)",
        choices=("nearest", "last-before"),
        default="nearest",
        needs="syncReference",
    ),
    PassThrough(
        "--sync-clock",
        "syncClock",
        "sync_clock",
        "sync_clock",
        Kind.CHOICE,
        "join on log time or header stamp (default: log)",
        choices=("log", "header"),
        default="log",
        needs="syncReference",
    ),
    PassThrough(
        "--point-clouds",
        "pointClouds",
        "point_clouds",
        "point_clouds",
        Kind.CHOICE,
        "point clouds as per-message point tables or binary PCD files (default: parquet)",
        choices=("parquet", "pcd"),
        default="parquet",
    ),
    PassThrough(
        "--video",
        "video",
        "video",
        "video",
        Kind.SWITCH,
        "one MP4 per camera topic and a frame index, instead of image files",
    ),
)
BY_PARAMETER = {row.parameter: row for row in TABLE}


class OptionsError(ValueError):
    """Pass-through options that cannot work (every problem named, one line)."""


@dataclass(frozen=True)
class ProcessorOptions:
    """The pass-through options a run was given, by ADF parameter name; absent ones left out."""

    values: tuple[tuple[str, Value], ...] = field(default_factory=tuple)

    def value(self, row: PassThrough) -> Value | None:
        return dict(self.values).get(row.parameter)

    def processor_args(self) -> tuple[str, ...]:
        """The processor flags, in the table's order (one command line for every task)."""
        given = dict(self.values)
        return tuple(
            arg
            for row in TABLE
            if row.parameter in given
            for arg in row.processor_args(given[row.parameter])
        )

    def record(self) -> dict[str, Any]:
        """What the processor records in manifest.json options for these options."""
        return {row.record_key: row.recorded(self.value(row)) for row in TABLE}

    def describe(self) -> str:
        """`--start=10 --video`, or '' when none is given."""
        return " ".join(self.processor_args())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The table's flags on `python -m orchestrator extract` (absent: None)."""
    group = parser.add_argument_group(
        "processor options", "passed to every task's processor (docs/processor.md)"
    )
    for row in TABLE:
        if row.kind is Kind.SWITCH:
            group.add_argument(row.flag, action="store_true", default=None, help=row.help)
        elif row.kind is Kind.LIST:
            group.add_argument(row.flag, nargs="+", metavar=row.metavar, help=row.help)
        else:
            group.add_argument(
                row.flag, choices=row.choices or None, metavar=row.metavar or None, help=row.help
            )


def _from_text(row: PassThrough, text: str, problems: list[str]) -> Value | None:
    """An ADF extendedProperties value ('' or the default: absent)."""
    text = text.strip()
    if row.kind is Kind.SWITCH:
        if text.lower() in ("", "false"):
            return None
        if text.lower() == "true":
            return True
        problems.append(f"{row.parameter} {text!r} is not true or false")
        return None
    if row.kind is Kind.LIST:
        items = tuple(item.strip() for item in text.split(",") if item.strip())
        return items or None
    return text or None


def _given(
    args: argparse.Namespace | None, activity: Mapping[str, str] | None, problems: list[str]
) -> dict[str, tuple[Value, str]]:
    """Each option given, with how to name it: its flag, or its pipeline parameter (ADF's)."""
    given: dict[str, tuple[Value, str]] = {}
    for row in TABLE:
        value: Value | None = getattr(args, row.dest, None) if args is not None else None
        name = row.flag
        if isinstance(value, list):
            value = tuple(value)
        if value is None and activity is not None and row.parameter in activity:
            value, name = _from_text(row, activity[row.parameter], problems), row.parameter
        if value is not None:
            given[row.parameter] = (value, name)
    return given


def settle(
    args: argparse.Namespace | None, activity: Mapping[str, str] | None = None
) -> ProcessorOptions:
    """The command line's options over activity.json's, checked: every problem in one error."""
    problems: list[str] = []
    given = _given(args, activity, problems)
    for row in TABLE:
        if row.parameter in given:
            value, name = given[row.parameter]
            problem = _problem(row, value)
            if problem:
                problems.append(f"{name} {problem}")
            elif row.kind is Kind.CHOICE and value == row.default:
                del given[row.parameter]  # the processor's default: command lines stay as they were
    for row in TABLE:
        if row.parameter in given and row.needs and row.needs not in given:
            needed = BY_PARAMETER[row.needs]
            wanted = needed.flag if given[row.parameter][1] == row.flag else needed.parameter
            problems.append(f"{given[row.parameter][1]} needs {wanted}")
    if problems:
        raise OptionsError("; ".join(problems) + ': see docs/orchestrator.md "Processor options"')
    return ProcessorOptions(
        tuple((row.parameter, given[row.parameter][0]) for row in TABLE if row.parameter in given)
    )


def _problem(row: PassThrough, value: Value) -> str:
    """What is wrong with `value` ('' when nothing), after the option's name."""
    if row.kind is Kind.CHOICE and value not in row.choices:
        return f"{value!r} is not one of {', '.join(row.choices)}"
    if row.kind is Kind.NUMBER:
        try:
            number = float(str(value))
        except ValueError:
            return f"{value!r} is not a number"
        if not math.isfinite(number) or number < 0:
            return f"{value!r} must be a number of 0 or more"
    if row.kind is Kind.LIST and isinstance(value, tuple):
        flagged = [item for item in value if item.startswith("-")]
        if flagged:
            return f"{' '.join(flagged)}: a topic does not begin with '-'"
    if row.kind is Kind.TEXT and isinstance(value, str) and not value.strip():
        return "is empty"
    return ""


def parameters() -> Sequence[str]:
    """The extendedProperties keys of the table (adf.extended_property_keys)."""
    return [row.parameter for row in TABLE]
