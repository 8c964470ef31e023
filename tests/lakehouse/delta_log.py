"""An independent reader of a Delta table: the log's JSON actions, then pyarrow.

The table's files are the `add` actions not later `remove`d (PROTOCOL.md, "Action
Reconciliation": https://github.com/delta-io/delta/blob/master/PROTOCOL.md); no deltalake
code is involved, so a table deltalake wrote wrongly cannot read back right by accident.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq


def active_files(table: Path) -> dict[str, dict[str, str | None]]:
    """Each live data file and its partition values."""
    files: dict[str, dict[str, str | None]] = {}
    for commit in sorted((table / "_delta_log").glob("*.json")):
        for line in commit.read_text(encoding="utf-8").splitlines():
            action = json.loads(line)
            if "add" in action:
                files[action["add"]["path"]] = action["add"]["partitionValues"]
            elif "remove" in action:
                files.pop(action["remove"]["path"], None)
    return files


def read_table(table: Path) -> pa.Table:
    parts = []
    for path, partitions in active_files(table).items():
        data = pq.read_table(table / unquote(path))
        for name, value in partitions.items():
            data = data.append_column(name, pa.array([value] * len(data), pa.string()))
        parts.append(data)
    return pa.concat_tables(parts, promote_options="default") if parts else pa.table({})


def commits(table: Path) -> int:
    """Commits that change rows (add or remove files): the empty version that created the table
    (delta.py, _ensure_table) carries only its protocol and metadata."""
    found = 0
    for commit in (table / "_delta_log").glob("*.json"):
        actions = [json.loads(line) for line in commit.read_text(encoding="utf-8").splitlines()]
        found += any("add" in a or "remove" in a for a in actions)
    return found
