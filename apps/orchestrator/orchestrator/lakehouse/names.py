"""Table names from message types, which come from the bag and are untrusted."""

from __future__ import annotations

import hashlib
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


def sql_string(text: str) -> str:
    """A SQL string literal: single quotes doubled (SQL-92), for Delta predicates."""
    return "'" + text.replace("'", "''") + "'"
