"""Shared helpers for the processor tests: run the CLI, read outputs, read bags directly."""

from __future__ import annotations

import csv
import json
import keyword
import math
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
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
            (name[:-1] if name.endswith("_") and keyword.iskeyword(name[:-1]) else name): plain(
                getattr(value, name)
            )
            for name in value.__dataclass_fields__
            if not name.startswith("__")
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
        if math.isnan(expected):
            assert cell == "nan", where
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
