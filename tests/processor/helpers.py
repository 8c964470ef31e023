"""Shared helpers for the processor tests: run the CLI, read outputs, read bags directly."""

from __future__ import annotations

import csv
import dataclasses
import json
import keyword
import math
import re
import sys
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.csv as pcsv
import pytest
from rosbags.highlevel import AnyReader
from rosbags.interfaces import Connection
from rosbags.rosbag1 import Reader as Reader1
from rosbags.rosbag1 import Writer as Writer1

from processor.cli import main

ROOT = Path(__file__).resolve().parents[2]
BAGS = ROOT / "tests" / "data" / "bags"
DECODABLE_BAGS = [
    "custom-arrays.bag",
    "gps-navsatfix.bag",
    "jackal-imu-odom.bag",
    "magnetic-temperature.bag",
    "turtlesim.bag",
    "ros2-sqlite3-custom",
    "ros2-mcap-basic",
]
csv.field_size_limit(sys.maxsize)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """Run `python -m processor ARGS` in-process: (exit status, stdout, stderr)."""
    status = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def provenance_counts() -> dict[str, dict[str, int]]:
    """Per-bag topic counts from PROVENANCE.md (to be confirmed by a direct rosbags read)."""
    counts: dict[str, dict[str, int]] = {}
    for line in (BAGS / "PROVENANCE.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > 6 and cells[1].startswith("`"):
            name = cells[1].strip("`")
            topics = re.findall(r"`(/[^`]+)` \S+ \((\d+)\)", cells[5])
            counts[name] = {topic: int(n) for topic, n in topics}
    return counts


def direct_messages(bag: Path) -> dict[str, list[tuple[int, Any]]]:
    """Every message per topic, decoded by rosbags' AnyReader (the reference)."""
    messages: dict[str, list[tuple[int, Any]]] = {}
    with AnyReader([bag]) as reader:
        for connection, timestamp, raw in reader.messages():
            topic = (
                connection.topic if connection.topic.startswith("/") else (f"/{connection.topic}")
            )
            messages.setdefault(topic, []).append(
                (timestamp, reader.deserialize(raw, connection.msgtype))
            )
    return messages


def iso_time(ns: int) -> str:
    """The CSV `log_time` text of a log time: UTC, nanoseconds, ISO 8601 (written here from
    the documented form, not by the processor's code)."""
    seconds, fraction = divmod(ns, 10**9)
    day = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{day}.{fraction:09d}Z"


def manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def plain(value: Any) -> Any:
    """A decoded value as JSON data, written independently of processor.flatten."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, list):
        return [plain(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return {
            (f.name[:-1] if f.name.endswith("_") and keyword.iskeyword(f.name[:-1]) else f.name): (
                plain(getattr(value, f.name))
            )
            for f in dataclasses.fields(value)
            if not str(f.type).startswith("ClassVar")  # constants (PointField.INT8), markers
        }
    return value


def resolve(message: Any, column: str) -> Any:
    """The value a flattened column names: ``header.stamp.sec``, ``covariance.3``."""
    value = message
    for part in column.split("."):
        if part.isdigit():
            value = value[int(part)]
        else:
            value = getattr(value, f"{part}_" if keyword.iskeyword(part) else part)
    return value


def assert_cell(cell: str, expected: Any, where: str) -> None:
    """A CSV cell equals the decoded value exactly (floats by value, lists as JSON).

    float32 fields are written as the shortest text of the float32 value, so they
    compare as float32.
    """
    if hasattr(expected, "tolist") and not hasattr(expected, "__len__"):
        expected = expected.item()
    if isinstance(expected, bool):
        assert cell == str(expected).lower(), where
    elif isinstance(expected, float):
        assert any(mark in cell for mark in ".eN") or "Infinity" in cell, where  # looks float
        if not math.isfinite(expected):
            assert cell == {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}[str(expected)]
        elif float(cell) != expected:
            assert np.float32(expected) == expected, where  # only float32 may be shortened
            assert np.float32(float(cell)) == np.float32(expected), where
    elif isinstance(expected, int):
        assert int(cell) == expected, where
    elif isinstance(expected, str):
        assert cell == expected, where
    else:
        assert json.loads(cell) == plain(expected), where


def rewrite_ros1(
    source: Path, target: Path, *, compression: str | None, reverse_chunks: bool = False
) -> None:
    """Copy a ROS 1 bag with other chunk compression, optionally with chunks out of time order.

    With `reverse_chunks`, the second half of the messages is written first in small chunks,
    so chunk start times run backwards through the file.
    """
    with Reader1(source) as reader:
        messages = list(reader.messages())
        connections = reader.connections
        writer = Writer1(target)
        if compression:
            writer.set_compression(Writer1.CompressionFormat[compression.upper()])
        if reverse_chunks:
            writer.chunk_threshold = 16 * 1024
        with writer:
            mapping: dict[int, Connection] = {}
            for conn in connections:
                ext = conn.ext
                mapping[conn.id] = writer.add_connection(
                    conn.topic,
                    conn.msgtype,
                    msgdef=conn.msgdef.data,
                    md5sum=conn.digest,
                    callerid=getattr(ext, "callerid", None),
                    latching=getattr(ext, "latching", None),
                )
            if reverse_chunks:
                half = len(messages) // 2
                messages = messages[half:] + messages[:half]
            for conn, timestamp, raw in messages:
                writer.write(mapping[conn.id], timestamp, raw)


def files_under(folder: Path) -> Iterator[Path]:
    return (p for p in sorted(folder.rglob("*")) if p.is_file())


def snapshot(root: Path, *, exclude: Path) -> dict[str, tuple[int, bytes | str]]:
    """Every file, folder and link below `root` (except `exclude` and what it holds): its
    mode and content, so any write, rename or delete outside `exclude` shows."""
    state: dict[str, tuple[int, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        if path == exclude or exclude in path.parents:
            continue
        mode = path.lstat().st_mode
        if path.is_symlink():
            state[str(path.relative_to(root))] = (mode, str(path.readlink()))
        elif path.is_file():
            state[str(path.relative_to(root))] = (mode, path.read_bytes())
        else:
            state[str(path.relative_to(root))] = (mode, "")
    return state


def read_table(path: Path) -> Any:
    """A table read back with pyarrow (every column as its own type)."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    return pq.read_table(path) if path.suffix == ".parquet" else pcsv.read_csv(path)


@dataclass
class Outcome:
    status: int
    err: str
    folder: Path
    manifest: dict[str, Any]


def extract_hostile(
    capsys: pytest.CaptureFixture[str],
    bag: Path,
    root: Path,
    *,
    expected_messages: int | None,
    args: Sequence[str] = (),
    statuses: Collection[int] = (0, 3),
) -> Outcome:
    """Extract `bag` into `root/out` and check what every bag, however hostile, must give:

    - the exit status is one of `statuses` (a bag with healthy topics: 0 or 3, never 1);
    - nothing below `root` changes except `root/out/<bag name>` (the input, a neighbour's
      finished output and `root` itself are snapshotted), and no staging folder is left;
    - every message is accounted for: extracted + skipped + reported bad = the bag's count
      (for a bag whose count is unknown, `expected_messages` None: at least a complete
      output holds every message the bag declares);
    - every table reads with pyarrow and has one row per extracted message, and every file
      of the output is one the manifest names.
    """
    outdir = root / "out"
    neighbour = outdir / "neighbour"
    neighbour.mkdir(parents=True, exist_ok=True)
    (neighbour / "_SUCCESS").write_text("")
    (neighbour / "manifest.json").write_text('{"keep": true}')
    name = bag.name if bag.is_dir() else bag.stem
    folder = outdir / name
    before = snapshot(root, exclude=folder)
    status = main(["extract", str(bag), str(outdir), *args])
    err = capsys.readouterr().err
    assert status in statuses, err
    assert status != 1, err
    assert "Traceback" not in err, err
    assert snapshot(root, exclude=folder) == before, "something outside the bag's folder changed"
    document = manifest(folder) if (folder / "_SUCCESS").exists() else {}
    if status in (0, 3):
        assert (folder / "_SUCCESS").is_file()
        total = expected_messages
        if total is None:  # unknown: what the output counts, which must hold all declared
            total = int(document["messages"])
            total += sum(t.get("bad_messages", 0) for t in document["topics"])
            total += sum(s["messages"] for s in document["skipped"])
            if status == 0:
                assert document["messages"] >= document["declared_messages"]
        assert_accounted(folder, document, total)
    else:
        if folder.parent == outdir and folder.name != "..":  # `...bag` has no folder of its own
            assert not folder.exists() or (folder / "_SUCCESS").is_file()  # an older one stays
        assert len(err.strip().splitlines()) == 1 and err.startswith("processor: error: "), err
    return Outcome(status, err, folder, document)


def assert_accounted(folder: Path, document: dict[str, Any], expected_messages: int) -> None:
    """extracted + skipped + bad = the bag's count; tables read back whole; no stray files."""
    extracted = sum(t["messages"] for t in document["topics"])
    bad = sum(t.get("bad_messages", 0) for t in document["topics"])
    skipped = sum(s["messages"] for s in document["skipped"])
    assert extracted + bad + skipped == expected_messages, (extracted, bad, skipped)
    assert document["messages"] == extracted
    assert (document["status"] == "complete") == (extracted == expected_messages)
    named = {"_SUCCESS", "manifest.json", "info.json", "info.txt"}
    for topic in document["topics"]:
        table, *side = topic["files"]
        assert read_table(folder / table).num_rows == topic["messages"], table
        named.add(table)
        named.update(side)
    if "tf" in document:  # /tf and /tf_static: tf/transforms.<format> and tf/tree.json
        transforms, tree = document["tf"]["files"]
        path = folder / transforms
        rows = (
            read_table(path).num_rows
            if path.suffix == ".parquet"  # frame names may hold newlines: quoted in CSV
            else pcsv.read_csv(
                path, parse_options=pcsv.ParseOptions(newlines_in_values=True)
            ).num_rows
        )
        assert rows == document["tf"]["transforms"]
        assert json.loads((folder / tree).read_text(encoding="utf-8"))["frames"] is not None
        named.add("tf/")
    for path in folder.iterdir():
        label = path.name + ("/" if path.is_dir() else "")
        assert label in named, f"{label} is in the output but not in the manifest"
        assert not path.is_symlink()
