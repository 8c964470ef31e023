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

from orchestrator.lakehouse.names import TF_TABLE, VIDEO_TABLE, sync_table_name
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
    # The fleet table it lands in: "" for a topic's table (its message type's, names.py);
    # set for the processor's derived tables (tf, sync, video frame indexes: _derived).
    fleet: str = ""


@dataclass
class BagOutput:
    """A bag's extracted output; `tables` is empty when the bag has none (it failed)."""

    bag_id: str
    bag_path: str
    result_dir: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)
    tables: list[TopicTable] = field(default_factory=list)
    derived: list[TopicTable] = field(default_factory=list)  # tf, sync, video frame indexes


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


def _inside(result_dir: Path, name: object) -> Path | None:
    """A table file the manifest names below the bag's folder (`tf/transforms.csv`): a relative
    path with no `..`, a table suffix; anything else is not ours to read (the manifest is the
    processor's, but its folder may have been copied from anywhere)."""
    if not isinstance(name, str) or not name.endswith(TABLE_SUFFIXES):
        return None
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or "\\" in name:
        return None
    path = result_dir.joinpath(*relative.parts)
    return path if path.is_file() else None


def _derived(result_dir: Path, manifest: dict[str, Any]) -> list[TopicTable]:
    """The processor's tables beside the topics' (docs/processor.md TF, Synchronized tables,
    Video), each with its fleet table (names.py). Point files stay per bag: one per message."""
    found: list[TopicTable] = []
    tf = manifest.get("tf")
    if isinstance(tf, dict):
        for name in tf.get("files") or []:
            path = _inside(result_dir, name)
            if path is not None and path.stem == "transforms":
                found.append(TopicTable("", "", path, int(tf.get("transforms") or 0), TF_TABLE))
    sync = manifest.get("sync")
    if isinstance(sync, dict) and isinstance(sync.get("reference"), str):
        others = [t for t in sync.get("with") or [] if isinstance(t, str)]
        fleet = sync_table_name(sync["reference"], others)
        for name in sync.get("files") or []:
            path = _inside(result_dir, name)
            if path is not None:
                rows = int(sync.get("rows") or 0)
                found.append(TopicTable(sync["reference"], "", path, rows, fleet))
    for topic in manifest.get("topics") or []:
        video = topic.get("video") if isinstance(topic, dict) else None
        if isinstance(video, dict):
            path = _inside(result_dir, video.get("index"))
            if path is not None:
                frames = int(video.get("frames") or 0)
                found.append(TopicTable(str(topic.get("topic", "")), "", path, frames, VIDEO_TABLE))
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
        _derived(result_dir, manifest),
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
