"""The options that shape an output, as the command line gives them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

FORMATS = ("csv", "parquet")
COLUMN_NAMES = ("dotted", "underscore")
POINT_CLOUDS = ("parquet", "pcd")
SYNC_METHODS = ("nearest", "last-before")
SYNC_CLOCKS = ("log", "header")
DEFAULT_SYNC_TOLERANCE = "0.1"
"""Seconds: half the period of a 5 Hz topic for `nearest`, one 10 Hz period for
`last-before` (docs/processor.md, "Synchronized tables")."""


def slashed(topic: str) -> str:
    """A topic as given on the command line, with its leading slash: `imu` -> `/imu`."""
    return topic if topic.startswith("/") else f"/{topic}"


def normalized_topics(topics: Sequence[str] | None) -> tuple[str, ...] | None:
    """Topics as the bag names them (leading slash), sorted and unique; None for all."""
    if not topics:
        return None
    return tuple(sorted({slashed(t) for t in topics}))


MAX_TOLERANCE = Decimal(2**63 - 1).scaleb(-9)
"""Seconds: int64 nanoseconds, what the manifest and the tables' time columns hold."""
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)


def tolerance_ns(seconds: str) -> int:
    """`0.05` -> 50_000_000: whole nanoseconds, exactly (a decimal, never a float), so the
    boundary `--sync-tolerance 0.1` is 100 000 000 ns and not a rounding of it. ValueError
    for anything but a non-negative number in ASCII digits (`Decimal` also reads other
    scripts' digits) up to int64 nanoseconds, compared before scaling (`1e99999999`
    overflows Decimal's context)."""
    text = seconds.strip()
    if not _DECIMAL.fullmatch(text) or (value := Decimal(text)) > MAX_TOLERANCE:
        raise ValueError(
            f"{seconds!r} is not a non-negative number of seconds in ASCII digits from 0 to "
            f"{MAX_TOLERANCE} (int64 nanoseconds), e.g. 0.05"
        )
    with localcontext() as context:
        context.prec = len(text) + 20  # exact: the context's 28 digits would round 0.00799...9
        return int(value.scaleb(9))


@dataclass(frozen=True)
class SyncOptions:
    """`--sync REF --with TOPIC ...`: one wide table on REF's messages (processor.sync)."""

    reference: str
    """Slashed (`slashed`)."""
    others: tuple[str, ...]
    """The `--with` topics, slashed, once each, in the order given (the columns' order)."""
    tolerance_ns: int = 100_000_000
    method: str = "nearest"
    clock: str = "log"

    def record(self) -> dict[str, Any]:
        """The manifest's `options.sync`."""
        return {
            "reference": self.reference,
            "with": list(self.others),
            "tolerance_ns": self.tolerance_ns,
            "method": self.method,
            "clock": self.clock,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> SyncOptions:
        return cls(
            record["reference"],
            tuple(record["with"]),
            int(record["tolerance_ns"]),
            record["method"],
            record["clock"],
        )

    @property
    def topics(self) -> tuple[str, ...]:
        return (self.reference, *self.others)


@dataclass(frozen=True)
class Options:
    """How a bag is extracted: everything here changes what the output holds."""

    format: str = "csv"
    topics: tuple[str, ...] | None = None
    """Normalized (normalized_topics); None: every topic."""
    column_names: str = "dotted"
    """`dotted` (`header.stamp.sec`) or `underscore` (`header_stamp_sec`)."""
    sync: SyncOptions | None = None
    """`--sync`: None writes no synchronized table (and leaves the manifest as before)."""
    point_clouds: str = "parquet"
    """PointCloud2 / PointCloud points as a Parquet table (`parquet`) or binary PCD file
    (`pcd`) per message (processor.pointclouds)."""
    video: bool = False
    """`--video`: camera topics as MP4 segments and a frame index instead of image files."""
    start: str | None = None
    """`--start` as given (processor.timeslice); None: from the bag's first message."""
    end: str | None = None
    """`--end` as given (processor.timeslice, exclusive); None: to the bag's last message."""

    @property
    def sliced(self) -> bool:
        """Only part of the bag's log time is extracted (`--start`/`--end`)."""
        return self.start is not None or self.end is not None

    @property
    def separator(self) -> str:
        return "_" if self.column_names == "underscore" else "."
