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
import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

Value = str | tuple[str, ...] | bool
NS = 10**9
MAX_SECONDS = Decimal(2**63 - 1).scaleb(-9)
_ASCII_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


class Kind(StrEnum):
    TEXT = "text"  # one value, passed as given
    NUMBER = "number"  # one non-negative number of seconds, passed as given
    CHOICE = "choice"  # one of `choices`; the processor's default is not passed
    LIST = "list"  # one or more values; comma-separated in ADF
    SWITCH = "switch"  # on or off; a boolean ADF parameter


def slashed(topic: str) -> str:
    """A topic as the processor records it (processor/options.py slashed)."""
    return topic if topic.startswith("/") else f"/{topic}"


def _as_given(value: Value) -> Any:
    return value


def _topic(value: Value) -> Any:
    return slashed(str(value))


def _topics(value: Value) -> Any:
    """Slashed, once each, in the order given (processor/cli.py _sync_options)."""
    items = value if isinstance(value, tuple) else (str(value),)
    return list(dict.fromkeys(slashed(item) for item in items))


def _nanoseconds(value: Value) -> Any:
    """Seconds as whole nanoseconds, exactly (processor/options.py tolerance_ns)."""
    return int(Decimal(str(value).strip()) * NS)


@dataclass(frozen=True)
class PassThrough:
    flag: str
    parameter: str  # the ADF pipeline parameter and extendedProperties key
    # Where the processor records it in manifest.json options: `key`, or `group.key` inside a
    # record that is there only when one of its options is given (`sync`).
    record_key: str
    column: str  # the catalog's bags column (lakehouse/catalog.py)
    kind: Kind
    help: str
    metavar: str = ""
    choices: tuple[str, ...] = ()
    # What the processor takes without the flag (CHOICE: its default choice; NUMBER: its
    # default, as text), and so what a manifest without the key was made with.
    default: str = ""
    needs: str = ""  # the parameter of an option this one means nothing without
    to_record: Callable[[Value], Any] = _as_given  # the given value as the processor records it

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def group(self) -> str:
        return self.record_key.partition(".")[0] if "." in self.record_key else ""

    @property
    def key(self) -> str:
        return self.record_key.rpartition(".")[2]

    def recorded(self, value: Value | None) -> Any:
        """The value the processor records in manifest.json options for `value` (None: absent)."""
        if value is None:
            if self.kind is Kind.SWITCH:
                return False
            return self.to_record(self.default) if self.default else None
        return self.to_record(value)

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
        "only messages logged at or after T: ns since the epoch, ISO 8601 with a zone, or "
        '+SECONDS from the bag\'s start (docs/processor.md "Time slices")',
        metavar="T",
    ),
    PassThrough(
        "--end",
        "sliceEnd",
        "end",
        "slice_end",
        Kind.TEXT,
        "only messages logged before T (excluded), spelled as for --start",
        metavar="T",
    ),
    PassThrough(
        "--sync",
        "syncReference",
        "sync.reference",
        "sync_reference",
        Kind.TEXT,
        "also write one wide table on this reference topic's messages (needs --with)",
        metavar="REF",
        needs="syncWith",
        to_record=_topic,
    ),
    PassThrough(
        "--with",
        "syncWith",
        "sync.with",
        "sync_with",
        Kind.LIST,
        "the topics joined to --sync REF",
        metavar="TOPIC",
        needs="syncReference",
        to_record=_topics,
    ),
    PassThrough(
        "--sync-tolerance",
        "syncTolerance",
        "sync.tolerance_ns",
        "sync_tolerance_ns",
        Kind.NUMBER,
        "farthest match in seconds, inclusive (default: 0.1)",
        metavar="SECONDS",
        default="0.1",
        needs="syncReference",
        to_record=_nanoseconds,
    ),
    PassThrough(
        "--sync-method",
        "syncMethod",
        "sync.method",
        "sync_method",
        Kind.CHOICE,
        "nearest message, or the last at or before the reference (default: nearest)",
        choices=("nearest", "last-before"),
        default="nearest",
        needs="syncReference",
    ),
    PassThrough(
        "--sync-clock",
        "syncClock",
        "sync.clock",
        "sync_clock",
        Kind.CHOICE,
        "match on log time or header stamp (default: log)",
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
        "point clouds as per-message Parquet point tables or binary PCD (default: parquet)",
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


def absent_record() -> dict[str, Any]:
    """What a manifest without these keys was made with (the processor's defaults)."""
    return ProcessorOptions().record()


def recorded_value(record: dict[str, Any], row: PassThrough) -> Any:
    """`row`'s value in a manifest's options record (None: not there)."""
    if not row.group:
        return record.get(row.key)
    group = record.get(row.group)
    return group.get(row.key) if isinstance(group, dict) else None


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
        """What the processor records in manifest.json options for these options: a group
        (`sync`) is None unless one of its options is given."""
        record: dict[str, Any] = {}
        for row in TABLE:
            if not row.group:
                record[row.key] = row.recorded(self.value(row))
                continue
            members = [other for other in TABLE if other.group == row.group]
            if not any(self.value(other) is not None for other in members):
                record[row.group] = None
                continue
            group = record.setdefault(row.group, {})
            group[row.key] = row.recorded(self.value(row))
        return record


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
    args: argparse.Namespace | None,
    activity: Mapping[str, str] | None = None,
    topics: Sequence[str] = (),
) -> ProcessorOptions:
    """The command line's options over activity.json's, checked against each other and the
    run's --topics: every problem in one error."""
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
    problems.extend(_slice_problems(given))
    problems.extend(_sync_problems(given, topics))
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
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return f"{value!r} is not a number"
        if not number.is_finite() or number < 0:
            return f"{value!r} must be a number of 0 or more"
        # The processor's own rule (processor/options.py tolerance_ns): Decimal also reads
        # other scripts' digits, and seconds must fit int64 nanoseconds.
        if not _ASCII_DECIMAL.fullmatch(str(value).strip()):
            return f"{value!r} must be written in ASCII digits, e.g. 0.05"
        if number > MAX_SECONDS:
            return f"{value!r} is beyond int64 nanoseconds: at most {MAX_SECONDS} seconds"
    if row.kind is Kind.LIST and isinstance(value, tuple):
        flagged = [item for item in value if item.startswith("-")]
        if flagged:
            return f"{' '.join(flagged)}: a topic does not begin with '-'"
    if row.kind is Kind.TEXT and isinstance(value, str) and not value.strip():
        return "is empty"
    return ""


_RELATIVE = re.compile(r"\+(\d*)(?:\.(\d{0,9}))?", re.ASCII)
_FRACTION = re.compile(r"[.,]\d+", re.ASCII)


def time_point(text: str) -> tuple[int, bool] | None:
    """A --start/--end value as (ns, relative), spelled as the processor reads it
    (processor/timeslice.py parse_time: ns since the epoch, ISO 8601 with a zone, +SECONDS);
    None when it is none of these. Sub-second digits are ignored: enough to order two times
    of the same kind to the second, and the processor checks the rest on each bag."""
    value = text.strip()
    if value.isdigit() and value.isascii():
        return int(value), False
    if (match := _RELATIVE.fullmatch(value)) and (match[1] or match[2]):
        return int(match[1] or 0) * NS + int((match[2] or "").ljust(9, "0") or 0), True
    try:
        moment = datetime.datetime.fromisoformat(_FRACTION.sub("", value, count=1))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp()) * NS, False


def _slice_problems(given: Mapping[str, tuple[Value, str]]) -> list[str]:
    problems: list[str] = []
    points: list[tuple[int, bool]] = []
    for parameter in ("sliceStart", "sliceEnd"):
        if parameter in given:
            value, name = given[parameter]
            point = time_point(str(value))
            if point is None:
                problems.append(
                    f"{name} {value!r} is not a time: give ns since the epoch "
                    "(1700000000000000000), ISO 8601 with a zone (2023-11-14T22:13:20Z) or "
                    "+SECONDS from the bag's start (+10.5)"
                )
            else:
                points.append(point)
    if len(points) == 2 and points[0][1] == points[1][1] and points[0][0] >= points[1][0]:
        start, end = given["sliceStart"], given["sliceEnd"]
        problems.append(f"{start[1]} {start[0]} is not before {end[1]} {end[0]}")
    return problems


def _sync_problems(given: Mapping[str, tuple[Value, str]], topics: Sequence[str]) -> list[str]:
    """The checks the processor makes on its own command line (processor/cli.py
    _sync_options), made once here rather than failing every bag's task."""
    if "syncReference" not in given or "syncWith" not in given:
        return []
    reference = slashed(str(given["syncReference"][0]))
    others = _topics(given["syncWith"][0])
    problems = []
    if reference in others:
        problems.append(f"{given['syncWith'][1]} {reference}: that is the sync topic itself")
    selected = {slashed(topic) for topic in topics}
    outside = [topic for topic in [reference, *others] if selected and topic not in selected]
    if outside:
        problems.append(
            f"sync topic(s) {', '.join(outside)} not among --topics: add them to --topics "
            "(the synchronized table is made from the extracted tables)"
        )
    return problems


def parameters() -> Sequence[str]:
    """The extendedProperties keys of the table (adf.extended_property_keys)."""
    return [row.parameter for row in TABLE]
