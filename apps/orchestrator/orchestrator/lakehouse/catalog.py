"""The catalog: a `bags` table (one row per bag) and a `topics` table (one row per bag topic)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from orchestrator import passthrough
from orchestrator.lakehouse.outputs import BagOutput
from orchestrator.lakehouse.stats import GpsTrack, TopicStats, finite

BAGS, TOPICS = "bags", "topics"
SOURCE_ID = "source_id"
_UTC = pa.timestamp("us", tz="UTC")
_TOPIC = pa.struct(
    [
        ("topic", pa.string()),
        ("msgtype", pa.string()),
        ("messages", pa.int64()),
        ("rate_hz", pa.float64()),
        ("largest_gap_s", pa.float64()),
    ]
)
_SKIPPED = pa.struct(
    [
        ("topic", pa.string()),
        ("msgtype", pa.string()),
        ("messages", pa.int64()),
        ("reason", pa.string()),
    ]
)
# The processor options a bag was extracted with (orchestrator/passthrough.py), as its
# manifest records them; null where it records none (made before the option existed).
_OPTION_TYPES = {
    passthrough.Kind.TEXT: pa.string(),
    passthrough.Kind.CHOICE: pa.string(),
    passthrough.Kind.NUMBER: pa.int64(),  # recorded in whole nanoseconds (sync_tolerance_ns)
    passthrough.Kind.LIST: pa.list_(pa.string()),
    passthrough.Kind.SWITCH: pa.bool_(),
}
OPTION_COLUMNS = [(row.column, _OPTION_TYPES[row.kind]) for row in passthrough.TABLE]
BAGS_SCHEMA = pa.schema(
    [
        ("bag_id", pa.string()),
        ("content_id", pa.string()),
        ("path", pa.string()),
        ("size_bytes", pa.int64()),
        ("storage_format", pa.string()),
        ("ros_version", pa.int32()),
        ("start", _UTC),
        ("end", _UTC),
        ("duration_s", pa.float64()),
        ("messages", pa.int64()),
        ("topics", pa.list_(_TOPIC)),
        ("gps_min_lat", pa.float64()),
        ("gps_max_lat", pa.float64()),
        ("gps_min_lon", pa.float64()),
        ("gps_max_lon", pa.float64()),
        ("gps_track_m", pa.float64()),
        ("status", pa.string()),
        ("reason", pa.string()),
        ("skipped", pa.list_(_SKIPPED)),
        ("processor_version", pa.string()),
        ("run_id", pa.string()),
        ("committed_at", _UTC),
        *OPTION_COLUMNS,  # last and nullable: a lake made before them gains them (schema merge)
        # The source id (orchestrator/source.py) of the content this row's status is about: the
        # one the ledger records (docs/orchestrator.md "Exactly once"). Null in rows committed
        # before it existed; appended last, like the options, so older catalogs gain it.
        (SOURCE_ID, pa.string()),
    ]
)
TOPICS_SCHEMA = pa.schema(
    [
        ("bag_id", pa.string()),
        ("topic", pa.string()),
        ("msgtype", pa.string()),
        ("table", pa.string()),
        ("messages", pa.int64()),
        ("first", _UTC),
        ("last", _UTC),
        ("rate_hz", pa.float64()),
        ("largest_gap_s", pa.float64()),
    ]
)


@dataclass
class BagEntry:
    """What the catalog says of one bag after this run."""

    output: BagOutput
    status: str
    reason: str = ""
    content_id: str = ""
    size_bytes: int | None = None
    topics: list[TopicStats] = field(default_factory=list)
    gps: GpsTrack | None = None
    source_id: str = ""


def _time(ns: Any) -> datetime.datetime | None:
    if not isinstance(ns, int) or isinstance(ns, bool):
        return None
    return datetime.datetime.fromtimestamp(ns / 1e9, tz=datetime.UTC)


def ros_version(info: dict[str, Any]) -> int | None:
    kind = str(info.get("kind", ""))
    return 1 if kind.startswith("ROS 1") else 2 if kind.startswith("ROS 2") else None


def _skipped(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "topic": str(s.get("topic", "")),
            "msgtype": str(s.get("msgtype", "")),
            "messages": int(s.get("messages") or 0),
            "reason": str(s.get("reason", "")),
        }
        for s in manifest.get("skipped") or []
        if isinstance(s, dict)
    ]


def _option(row: passthrough.PassThrough, recorded: Any) -> Any:
    """A recorded option as its column's type; None when absent or of another shape."""
    if recorded is None:
        return None
    if row.kind is passthrough.Kind.SWITCH:
        return recorded if isinstance(recorded, bool) else None
    if row.kind is passthrough.Kind.NUMBER:
        return recorded if isinstance(recorded, int) and not isinstance(recorded, bool) else None
    if row.kind is passthrough.Kind.LIST:
        return [str(item) for item in recorded] if isinstance(recorded, list) else None
    return str(recorded)


def option_values(manifest: dict[str, Any]) -> dict[str, Any]:
    """The bags columns of the processor options the manifest records."""
    recorded = manifest.get("options")
    options = recorded if isinstance(recorded, dict) else {}
    return {
        row.column: _option(row, passthrough.recorded_value(options, row))
        for row in passthrough.TABLE
    }


def bag_row(entry: BagEntry, run_id: str, now: datetime.datetime) -> dict[str, Any]:
    info, manifest, gps = entry.output.info, entry.output.manifest, entry.gps
    start, end = info.get("start_ns"), info.get("end_ns")
    return {
        "bag_id": entry.output.bag_id,
        "content_id": entry.content_id,
        "path": entry.output.bag_path,
        "size_bytes": entry.size_bytes if entry.size_bytes is not None else info.get("size_bytes"),
        "storage_format": info.get("storage"),
        "ros_version": ros_version(info),
        "start": _time(start),
        "end": _time(end),
        "duration_s": info.get("duration_s"),
        "messages": manifest.get("messages"),
        "topics": [
            {
                "topic": t.topic,
                "msgtype": t.msgtype,
                "messages": t.messages,
                "rate_hz": finite(t.rate_hz),
                "largest_gap_s": finite(t.largest_gap_s),
            }
            for t in entry.topics
        ],
        "gps_min_lat": gps.min_lat if gps else None,
        "gps_max_lat": gps.max_lat if gps else None,
        "gps_min_lon": gps.min_lon if gps else None,
        "gps_max_lon": gps.max_lon if gps else None,
        "gps_track_m": gps.length_m if gps else None,
        "status": entry.status,
        "reason": entry.reason,
        "skipped": _skipped(manifest),
        "processor_version": manifest.get("processor_version"),
        "run_id": run_id,
        "committed_at": now,
        **option_values(manifest),
        SOURCE_ID: entry.source_id or None,
    }


def topic_rows(entry: BagEntry) -> list[dict[str, Any]]:
    return [
        {
            "bag_id": entry.output.bag_id,
            "topic": t.topic,
            "msgtype": t.msgtype,
            "table": t.table,
            "messages": t.messages,
            "first": _time(t.first_ns),
            "last": _time(t.last_ns),
            "rate_hz": finite(t.rate_hz),
            "largest_gap_s": finite(t.largest_gap_s),
        }
        for t in entry.topics
    ]


def bags_table(entries: list[BagEntry], run_id: str) -> pa.Table:
    now = datetime.datetime.now(tz=datetime.UTC)
    return pa.Table.from_pylist([bag_row(e, run_id, now) for e in entries], schema=BAGS_SCHEMA)


def topics_table(entries: list[BagEntry]) -> pa.Table:
    rows = [row for e in entries for row in topic_rows(e)]
    return pa.Table.from_pylist(rows, schema=TOPICS_SCHEMA)
