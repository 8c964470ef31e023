"""Table names from message types, which come from the bag and are untrusted."""

from __future__ import annotations

import hashlib
import json
import re

# ROS package and message names are lowercase/CamelCase identifiers without double
# underscores (REP 144, https://ros.org/reps/rep-0144.html), so `pkg__type` is unambiguous.
_ROS_TYPE = re.compile(r"^([a-z][a-z0-9_]*)/(?:msg/)?([A-Za-z][A-Za-z0-9_]*)$")
_DOUBLE_UNDERSCORE = "__"


def table_name(msgtype: str) -> str:
    """`sensor_msgs/msg/Imu` -> `sensor_msgs__imu`; anything else a name from its hash.

    Lowercase, because Spark and DuckDB resolve table names case-insensitively.
    """
    match = _ROS_TYPE.match(msgtype)
    if match and _DOUBLE_UNDERSCORE not in msgtype:
        package, name = match.groups()
        return f"{package}__{name.lower()}"
    digest = hashlib.sha256(msgtype.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"other__{digest}"


# The processor's derived tables (docs/processor.md TF, Video, Synchronized tables). A message
# type's name has exactly one `__` (neither part may hold one), so a name with two can never be
# a type's: `tf__transforms` would be, for a bag that declares `tf/Transforms` (ROS 1 has a
# `tf` package), and its rows would land in one table with the TF outputs'.
DERIVED = "derived"
TF_TABLE = f"{DERIVED}__tf__transforms"
VIDEO_TABLE = f"{DERIVED}__video__frames"
_UNSAFE = re.compile(r"[^a-z0-9]+")
_STEM_CHARS = 40


def sync_table_name(reference: str, others: list[str]) -> str:
    """One table per reference topic and set of joined topics: their columns are the same for
    every bag (docs/processor.md Synchronized tables), whatever the tolerance or method.

    `/imu/data` with {`/odom`} -> `derived__sync__imu_data__<12 hex>`: the topic names are
    untrusted, so the readable part keeps only `[a-z0-9]` runs joined by single underscores
    (never `__`), and the hash of the exact names (the set sorted: the order of `--with` only
    orders the columns) tells apart topics that read alike (`/a.b`, `/a/b`, `/A/B`)."""
    readable = _UNSAFE.sub("_", reference.lower()).strip("_")[:_STEM_CHARS].strip("_")
    exact = json.dumps([reference, sorted(set(others))], ensure_ascii=True)
    digest = hashlib.sha256(exact.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{DERIVED}__sync__{readable or 'topic'}__{digest}"


def sql_string(text: str) -> str:
    """A SQL string literal: single quotes doubled (SQL-92), for Delta predicates."""
    return "'" + text.replace("'", "''") + "'"
