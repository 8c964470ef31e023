"""Bag summaries in the spirit of `rosbag info`: a dict for info.json, text for info.txt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from processor.bag import Bag, Stream
from processor.errors import one_line


@dataclass(frozen=True)
class TopicStats:
    """Per-topic numbers: counts and, when known, the first and last log times."""

    topic: str
    msgtype: str
    messages: int
    first_ns: int | None
    last_ns: int | None


def declared_stats(bag: Bag) -> list[TopicStats]:
    """Counts as the bag declares them (index or metadata), without reading messages."""
    merged: dict[tuple[str, str], TopicStats] = {}
    for stream in bag.streams:
        key = (stream.topic, stream.msgtype)
        first, last = bag.indexed_times(stream) or (None, None)
        if (seen := merged.get(key)) is not None:
            first = (
                min(x for x in (first, seen.first_ns) if x is not None)
                if (first is not None or seen.first_ns is not None)
                else None
            )
            last = (
                max(x for x in (last, seen.last_ns) if x is not None)
                if (last is not None or seen.last_ns is not None)
                else None
            )
        messages = stream.declared + (seen.messages if seen else 0)
        merged[key] = TopicStats(key[0], key[1], messages, first, last)
    return [merged[key] for key in sorted(merged)]


def _rate(stats: TopicStats, bag: Bag) -> float | None:
    if stats.messages < 2:
        return None
    if stats.first_ns is not None and stats.last_ns is not None and stats.last_ns > stats.first_ns:
        return (stats.messages - 1) / ((stats.last_ns - stats.first_ns) / 1e9)
    duration = bag.end_ns - bag.start_ns
    return stats.messages / (duration / 1e9) if duration > 0 else None


def _iso(ns: int) -> str:
    try:
        return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat(timespec="milliseconds")
    except (OverflowError, ValueError, OSError):  # a corrupt or far-off time in the bag
        return f"{ns} ns (beyond calendar dates)"


def info_document(
    bag: Bag,
    stats: Sequence[TopicStats],
    streams: Sequence[Stream],
    *,
    problems: Sequence[str] = (),
    notes: Sequence[str] = (),
    selected: Sequence[str] | None = None,
    time_slice: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """info.json: the bag's metadata, per-topic counts and rates of `streams` (the topics
    extracted), what went wrong with them (`problems`, one line each; `notes`: what was
    kept otherwise, after the bag's own notes), and the `--topics`
    asked for (`selected`, None for all): counts then cover those topics only; likewise
    `time_slice` (the manifest's `slice`), present only when `--start`/`--end` was given."""
    duration_ns = max(bag.end_ns - bag.start_ns, 0)
    types: dict[str, str] = {}
    for stream in streams:
        types.setdefault(stream.msgtype, stream.definition_source)
    document: dict[str, Any] = {
        "path": str(bag.path),
        "kind": bag.kind,
        "version": bag.version,
        "storage": bag.storage,
        "size_bytes": bag.size,
        "start_ns": bag.start_ns,
        "end_ns": bag.end_ns,
        "start": _iso(bag.start_ns) if duration_ns else None,
        "end": _iso(bag.end_ns) if duration_ns else None,
        "duration_s": duration_ns / 1e9,
        "messages": sum(s.messages for s in stats),
        "selection": None
        if selected is None
        else {"topics": list(selected), "of": len({s.topic for s in bag.streams})},
        "compression": bag.compression,
        "types": [{"msgtype": t, "definition": d} for t, d in sorted(types.items())],
        "topics": [
            {
                "topic": s.topic,
                "msgtype": s.msgtype,
                "messages": s.messages,
                "frequency_hz": None if (rate := _rate(s, bag)) is None else round(rate, 4),
            }
            for s in stats
        ],
        "problems": list(problems),
        "notes": [*bag.notes, *notes],
    }
    if time_slice is not None:
        document["slice"] = time_slice
    return document


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{size} B"
        value /= 1024
    raise AssertionError("unreachable")


def info_text(document: dict[str, Any]) -> str:
    """info.txt, laid out like `rosbag info`."""
    lines = [
        f"path:        {document['path']}",
        f"kind:        {document['kind']}",
        f"version:     {document['version']}",
        f"duration:    {document['duration_s']:.3f} s",
        f"start:       {document['start'] or '-'} ({document['start_ns'] / 1e9:.6f})",
        f"end:         {document['end'] or '-'} ({document['end_ns'] / 1e9:.6f})",
        f"size:        {_size(document['size_bytes'])}",
        f"messages:    {document['messages']}",
    ]
    if selection := document.get("selection"):
        asked, of = selection["topics"], selection["of"]
        shown = " ".join(one_line(topic) for topic in asked)
        lines.append(f"selection:   {len(asked)} of {of} topics (--topics {shown})")
    if (time_slice := document.get("slice")) is not None:
        lines.append(f"slice:       {_slice_text(time_slice)}")
    lines.append(f"compression: {document['compression']}")
    for index, entry in enumerate(document["types"]):
        label = "types:" if index == 0 else ""
        shown = one_line(f"{entry['msgtype']} (definition {entry['definition']})")
        lines.append(f"{label:<12} {shown}")
    topics = [{**t, "topic": one_line(t["topic"])} for t in document["topics"]]
    width = max((len(t["topic"]) for t in topics), default=0)
    count_width = max((len(str(t["messages"])) for t in topics), default=0)
    for index, topic in enumerate(topics):
        label = "topics:" if index == 0 else ""
        rate = topic["frequency_hz"]
        rate_text = f" @ {rate:.4g} Hz" if rate is not None else ""
        lines.append(
            f"{label:<12} {topic['topic']:<{width}}  {topic['messages']:>{count_width}} "
            f"{'msg ' if topic['messages'] == 1 else 'msgs'}{rate_text} : {topic['msgtype']}"
        )
    lines.extend(f"problem:     {one_line(line)}" for line in document.get("problems", []))
    lines.extend(f"note:        {one_line(note)}" for note in document["notes"])
    return "\n".join(lines) + "\n"


def _slice_text(time_slice: dict[str, Any]) -> str:
    """`--start +10 --end +20 = [1700000010000000000, 1700000020000000000) ns`."""
    given = " ".join(
        f"--{flag} {one_line(str(time_slice[flag]))}"
        for flag in ("start", "end")
        if time_slice.get(flag) is not None
    )
    low, high = time_slice.get("start_ns"), time_slice.get("end_ns")
    shown = f"[{'bag start' if low is None else low}, {'bag end]' if high is None else f'{high})'}"
    counts = " (counts cover the slice, and latched state from before it)"
    return f"{given} = {shown} ns{counts}"
