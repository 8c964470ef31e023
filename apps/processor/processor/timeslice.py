"""`--start T` / `--end T`: which part of a bag's log time an extraction covers
(docs/processor.md, "Time slices").

T is absolute, integer nanoseconds since the epoch (`1700000000000000000`) or ISO 8601 with
a zone (`2023-11-14T22:13:20.5Z`), or relative to the bag's first message: `+SECONDS`
(`+10`, `+2.5`). The leading `+` is what makes it relative: a bare number is always
nanoseconds since the epoch, so `10` is never read as ten seconds.
The slice is `[start, end)`: the start is included, the end is not, as with shards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from processor.errors import BagError

_NS = 10**9
MAX_NS = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RELATIVE = re.compile(r"\+(?P<whole>\d*)(?:\.(?P<fraction>\d*))?", re.ASCII)
# A fraction right after the seconds (extended HH:MM:SS or basic HHMMSS, after the date's
# T or space). ISO 8601 also allows one on the hour or minute (22:13.5 is 22:13:30), which
# fromisoformat does not read: any other `.` or `,` is refused rather than misread.
_SECONDS_FRACTION = re.compile(
    r"(?P<head>[^T ]*[T ]\d\d:?\d\d:?\d\d)[.,](?P<digits>\d+)(?P<tail>.*)", re.ASCII
)
_SPELLINGS = (
    "give integer nanoseconds since the epoch (1700000000000000000), ISO 8601 with a zone "
    "(2023-11-14T22:13:20Z) or +SECONDS from the bag's start (+10.5)"
)


@dataclass(frozen=True)
class TimePoint:
    """A parsed `--start`/`--end`: nanoseconds since the epoch, or since the bag's start."""

    text: str
    ns: int
    relative: bool

    def at(self, bag_start_ns: int) -> int:
        return bag_start_ns + self.ns if self.relative else self.ns


@dataclass(frozen=True)
class Window:
    """The log-time range `[start_ns, end_ns)` one run covers; None: open on that side."""

    start_ns: int | None = None
    end_ns: int | None = None


def _fraction_ns(flag: str, text: str, digits: str) -> int:
    if len(digits) > 9:
        raise BagError(
            f"{flag} {text!r} has {len(digits)} decimals; nanoseconds are the finest: "
            "give at most 9"
        )
    return int(digits.ljust(9, "0")) if digits else 0


def parse_time(flag: str, text: str) -> TimePoint:
    """`text` as given to `flag`; BagError (one line, naming the spellings) if it is none."""
    value = text.strip()
    if value.isdigit() and value.isascii():
        return TimePoint(text, int(value), relative=False)
    if match := _RELATIVE.fullmatch(value):
        whole, fraction = match["whole"], match["fraction"] or ""
        if whole or fraction:
            return TimePoint(
                text,
                int(whole or 0) * _NS + _fraction_ns(flag, text, fraction),
                relative=True,
            )
    return TimePoint(text, _iso_ns(flag, text, value), relative=False)


def _iso_ns(flag: str, text: str, value: str) -> int:
    fraction = ""
    if match := _SECONDS_FRACTION.fullmatch(value):  # fromisoformat keeps microseconds only
        fraction, value = match["digits"], match["head"] + match["tail"]
    if value[:4].isdigit() and ("." in value or "," in value):  # a date, then a fraction
        raise BagError(
            f"{flag} {text!r}: only the seconds may have a fraction (2023-11-14T22:13:20.5Z), "
            f"not the hour, minute, date or zone: {_SPELLINGS}"
        )
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BagError(f"{flag} {text!r} is not a time: {_SPELLINGS}") from None
    if moment.tzinfo is None:
        raise BagError(
            f"{flag} {text!r} has no time zone, so the instant is ambiguous: add one "
            "(Z for UTC, or an offset such as +01:00)"
        )
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    ns = seconds * _NS + _fraction_ns(flag, text, fraction)
    if ns < 0:
        raise BagError(f"{flag} {text!r} is before 1970, where no bag's log time can be")
    return ns


def parse_window(start: str | None, end: str | None) -> tuple[TimePoint | None, TimePoint | None]:
    """Both flags parsed (before the bag is opened: a typo fails at once)."""
    return (
        None if start is None else parse_time("--start", start),
        None if end is None else parse_time("--end", end),
    )


def _shown(point: TimePoint, ns: int) -> str:
    return point.text if not point.relative else f"{point.text} ({ns} ns)"


def resolve(
    start: TimePoint | None, end: TimePoint | None, bag_start_ns: int, bag_end_ns: int
) -> Window:
    """The window in the bag's log time; BagError when it is empty (start not before end).

    A window that misses the bag, in part or wholly, is kept: it covers what the bag has
    there, which may be nothing. Over a fleet, `--start +20` is past the end of every bag
    shorter than 20 s, and such a bag is healthy, not unreadable (`outside_note` says why
    its tables are empty).
    """
    start_ns = None if start is None else start.at(bag_start_ns)
    end_ns = None if end is None else end.at(bag_start_ns)
    if start and end and start_ns is not None and end_ns is not None and start_ns >= end_ns:
        raise BagError(
            f"--start {_shown(start, start_ns)} is not before --end {_shown(end, end_ns)}: "
            "the slice [start, end) would be empty; give a start earlier than the end"
        )
    # No log time is beyond int64 nanoseconds (what the tables and sqlite3 bags hold): a
    # later end is the bag's end, and is recorded as the largest one so it stays an int64.
    return Window(start_ns, None if end_ns is None else min(end_ns, MAX_NS))


def outside_note(window: Window, bag_start_ns: int, bag_end_ns: int) -> str | None:
    """Why a window that lies wholly before or after the bag's log time holds nothing,
    naming the bag's range and the spellings; None for a window that overlaps the bag."""
    after = window.start_ns is not None and window.start_ns > bag_end_ns
    before = window.end_ns is not None and window.end_ns <= bag_start_ns
    if not (after or before):
        return None
    duration = (bag_end_ns - bag_start_ns) / _NS
    return (
        f"the slice lies wholly {'after' if after else 'before'} the bag, whose log time runs "
        f"from {bag_start_ns} to {bag_end_ns} ns ({duration:.3f} s), so no message of it is "
        "in the slice; a bare number is nanoseconds since the epoch (--end 10 is 10 ns after "
        f"1970), and +SECONDS is relative to the bag's start (+0 to +{duration:g} here)"
    )
