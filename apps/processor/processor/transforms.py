"""/tf and /tf_static as one transforms table and a frame-tree JSON per bag (issue 13).

Always on when the extracted topics include `/tf` or `/tf_static` of type
`tf2_msgs/msg/TFMessage` (or ROS 1 `tf/msg/tfMessage`); the per-topic tables are written as
well, unchanged. Frame names are strings from the bag: they only ever appear as JSON strings
(escaped by `json.dumps`) and as table values, never in a file name. The files have fixed names
in the folder `tf/`, which no topic can get (every topic's file ends in `.csv`, `.parquet`,
`.files` or `.video`; docs/processor.md "Names").
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from processor.background import BackgroundWriter
from processor.output import within, write_json
from processor.rowtable import LOG_TIME_COLUMNS, RowTable
from processor.tables import SUFFIX

FOLDER = "tf"
TREE = f"{FOLDER}/tree.json"
TF_TYPES = frozenset({"tf2_msgs/msg/TFMessage", "tf/msg/tfMessage"})
_STATIC = {"/tf": False, "tf": False, "/tf_static": True, "tf_static": True}


def table_name(fmt: str) -> str:
    return f"{FOLDER}/transforms{SUFFIX[fmt]}"


def tf_static(topic: str, msgtype: str) -> bool | None:
    """True for a /tf_static, False for a /tf stream of a TF type; None for any other."""
    if msgtype not in TF_TYPES:
        return None
    return _STATIC.get(topic)


def schema(separator: str) -> pa.Schema:
    """The transforms table: one row per transform, in the bag's order."""
    f64 = pa.float64()
    return pa.schema(
        [
            *LOG_TIME_COLUMNS,
            pa.field("header_stamp_ns", pa.int64()),
            pa.field("parent_frame", pa.string()),
            pa.field("child_frame", pa.string()),
            *(pa.field(f"translation{separator}{axis}", f64) for axis in "xyz"),
            *(pa.field(f"rotation{separator}{axis}", f64) for axis in "xyzw"),
            pa.field("static", pa.bool_()),
        ]
    )


@dataclass
class _Edge:
    transforms: int = 0
    first_ns: int = 0
    last_ns: int = 0


@dataclass
class FrameTree:
    """Per (parent, child, static) edge: how many transforms, first and last log time."""

    edges: dict[tuple[str, str, bool], _Edge] = field(default_factory=dict)

    def add(self, parent: str, child: str, static: bool, log_time: int) -> None:
        edge = self.edges.get((parent, child, static))
        if edge is None:
            self.edges[(parent, child, static)] = _Edge(1, log_time, log_time)
            return
        edge.transforms += 1
        edge.first_ns = min(edge.first_ns, log_time)
        edge.last_ns = max(edge.last_ns, log_time)

    def document(self) -> dict[str, Any]:
        parents: dict[str, set[str]] = {}
        frames: set[str] = set()
        for parent, child, _ in self.edges:
            frames.update((parent, child))
            parents.setdefault(child, set()).add(parent)
        edges = []
        for (parent, child, static), edge in sorted(self.edges.items()):
            span = (edge.last_ns - edge.first_ns) / 1e9
            rate = None if static or span <= 0 else (edge.transforms - 1) / span
            edges.append(
                {
                    "parent": parent,
                    "child": child,
                    "static": static,
                    "transforms": edge.transforms,
                    "rate_hz": rate,
                    "first_ns": edge.first_ns,
                    "last_ns": edge.last_ns,
                }
            )
        warnings: list[dict[str, Any]] = [
            {"warning": "two parents", "frame": child, "parents": sorted(found)}
            for child, found in sorted(parents.items())
            if len(found) > 1
        ]
        warnings += [{"warning": "cycle", "frames": cycle} for cycle in _cycles(parents)]
        return {
            "transforms": sum(edge.transforms for edge in self.edges.values()),
            "frames": sorted(frames),
            "roots": sorted(frames - parents.keys()),
            "edges": edges,
            "warnings": warnings,
        }


def _cycles(parents: dict[str, set[str]]) -> list[list[str]]:
    """The cycles a depth-first walk of the child -> parent graph meets (at least one per
    tangle of frames), each as the frames along it from its smallest name; a frame that is
    its own parent is a cycle of one. Iterative: a hostile bag may chain many frames."""
    found: set[tuple[str, ...]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(parents):
        if root in state:
            continue
        state[root] = 1
        path = [root]
        stack = [iter(sorted(parents.get(root, ())))]
        while stack:
            parent = next(stack[-1], None)
            if parent is None:
                stack.pop()
                state[path.pop()] = 2
            elif state.get(parent) == 1:
                cycle = path[path.index(parent) :]
                start = cycle.index(min(cycle))
                found.add(tuple(cycle[start:] + cycle[:start]))
            elif parent not in state:
                state[parent] = 1
                path.append(parent)
                stack.append(iter(sorted(parents.get(parent, ()))))
    return [list(cycle) for cycle in sorted(found)]


def _stamp_ns(stamp: Any, *, ros1: bool) -> int:
    sec = stamp.sec & 0xFFFFFFFF if ros1 else stamp.sec  # ROS 1 seconds are unsigned
    return int(sec) * 1_000_000_000 + int(stamp.nanosec)


class TransformsWriter:
    """Receives every decoded TF message of a run and writes `tf/transforms.<fmt>`."""

    def __init__(
        self, output: Path, fmt: str, separator: str, background: BackgroundWriter
    ) -> None:
        self.output = output
        self.fmt = fmt
        within(output, FOLDER).mkdir()
        self.table = RowTable(fmt, within(output, table_name(fmt)), schema(separator), background)
        self.tree = FrameTree()

    def add(self, log_time: int, message: Any, *, static: bool, ros1: bool) -> None:
        for transform in message.transforms:
            header = transform.header
            t = transform.transform.translation
            r = transform.transform.rotation
            parent, child = header.frame_id, transform.child_frame_id
            self.table.add(
                (
                    log_time,
                    _stamp_ns(header.stamp, ros1=ros1),
                    parent,
                    child,
                    t.x,
                    t.y,
                    t.z,
                    r.x,
                    r.y,
                    r.z,
                    r.w,
                    static,
                )
            )
            self.tree.add(parent, child, static, log_time)

    def close(self) -> None:
        self.table.close()

    def finish(self) -> None:
        write_tree(self.output, self.tree)


def write_tree(output: Path, tree: FrameTree) -> None:
    write_json(within(output, TREE), tree.document())


def manifest_entry(output: Path, fmt: str) -> dict[str, Any] | None:
    """The manifest's `tf` entry, from the tree.json an extraction wrote; None without one."""
    path = within(output, TREE)
    if not path.is_file():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    return {
        "files": [table_name(fmt), TREE],
        "transforms": document["transforms"],
        "frames": len(document["frames"]),
        "edges": len(document["edges"]),
        "warnings": len(document["warnings"]),
    }


def tree_of_table(path: Path, fmt: str) -> FrameTree:
    """The frame tree of a transforms table read back (a merge of shard parts)."""
    tree = FrameTree()
    for batch in _batches(path, fmt):
        columns = [
            batch.column(name).to_pylist()
            for name in ("parent_frame", "child_frame", "static", "log_time_ns")
        ]
        for parent, child, static, log_time in zip(*columns, strict=True):
            tree.add(parent, child, bool(static), log_time)
    return tree


def _batches(path: Path, fmt: str) -> Iterable[pa.RecordBatch]:
    if fmt == "csv":
        from pyarrow import csv

        types = {"parent_frame": pa.string(), "child_frame": pa.string(), "static": pa.bool_()}
        reader = csv.open_csv(
            path,
            parse_options=csv.ParseOptions(newlines_in_values=True),  # frame names are any text
            convert_options=csv.ConvertOptions(
                column_types={**types, "log_time_ns": pa.int64()},
                include_columns=[*types, "log_time_ns"],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        yield from reader
        return
    import pyarrow.parquet as pq

    yield from pq.ParquetFile(path).iter_batches(
        columns=["parent_frame", "child_frame", "static", "log_time_ns"]
    )
