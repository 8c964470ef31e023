"""One extracted bag as the lakehouse sees it: its manifest, info and table files.

Everything here comes from the processor's output folder (docs/processor.md): `manifest.json`
lists each topic's table file and message type, `info.json` the bag's storage and times.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from orchestrator.manifest import MANIFEST

INFO = "info.json"
TABLE_SUFFIXES = (".parquet", ".csv")


@dataclass(frozen=True)
class TopicTable:
    """One table file of one topic."""

    topic: str
    msgtype: str
    path: Path
    messages: int


@dataclass
class BagOutput:
    """A bag's extracted output; `tables` is empty when the bag has none (it failed)."""

    bag_id: str
    bag_path: str
    result_dir: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    tables: list[TopicTable] = field(default_factory=list)


def bag_id_for(bag_path: PurePosixPath) -> str:
    """A stable id: the bag's path in the data lake, which re-extraction keeps."""
    return bag_path.as_posix()


def _json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _tables(result_dir: Path, manifest: dict[str, Any]) -> list[TopicTable]:
    found: list[TopicTable] = []
    for topic in manifest.get("topics") or []:
        if not isinstance(topic, dict):
            continue
        for name in topic.get("files") or []:
            # A manifest name is a plain file name (the processor checks them, output.within):
            # anything else is not ours to read.
            if isinstance(name, str) and name.endswith(TABLE_SUFFIXES) and "/" not in name:
                found.append(
                    TopicTable(
                        str(topic.get("topic", "")),
                        str(topic.get("msgtype", "")),
                        result_dir / name,
                        int(topic.get("messages") or 0),
                    )
                )
    return found


def read_output(bag_path: PurePosixPath, result_dir: Path) -> BagOutput:
    """The bag's output folder as written by the processor (an empty one if unreadable)."""
    manifest = _json(result_dir / MANIFEST)
    return BagOutput(
        bag_id_for(bag_path),
        bag_path.as_posix(),
        result_dir,
        manifest,
        _json(result_dir / INFO),
        _tables(result_dir, manifest),
    )


def content_id(path: Path, sample: int = 1 << 20) -> str:
    """SHA-256 over each file's size, first and last MiB (a whole-file hash of a 50 GB bag
    would read it all again): the same recording gets the same id wherever it is copied."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        try:
            size = file.stat().st_size
            digest.update(f"{file.name}\0{size}\0".encode())
            with file.open("rb") as handle:
                digest.update(handle.read(sample))
                if size > sample:
                    handle.seek(max(sample, size - sample))
                    digest.update(handle.read(sample))
        except OSError:
            return ""
    return "sha256-sampled:" + digest.hexdigest()
