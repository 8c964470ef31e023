"""Reading the processor's output folder: counts for reports and outputs.json."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from orchestrator.outcome import OutputCounts

SUCCESS_MARKER = "_SUCCESS"
MANIFEST = "manifest.json"
_MESSAGE_COUNT_KEYS = ("message_count", "messages", "count")

log = logging.getLogger(__name__)


def is_complete(result_dir: Path) -> bool:
    """The processor marks a finished output folder with `_SUCCESS`, written last."""
    return (result_dir / SUCCESS_MARKER).is_file()


def _topic_entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    topics = manifest.get("topics", [])
    if isinstance(topics, dict):
        return [
            {"topic": name, **entry} if isinstance(entry, dict) else {"topic": name}
            for name, entry in topics.items()
        ]
    return [entry for entry in topics if isinstance(entry, dict)]


def _message_count(entry: dict[str, Any]) -> int:
    for key in _MESSAGE_COUNT_KEYS:
        value = entry.get(key)
        if isinstance(value, int):
            return value
    return 0


def read_counts(result_dir: Path) -> OutputCounts:
    """Topics and messages from `manifest.json`, files by walking the folder.

    A missing or unreadable manifest gives zero topics and messages (the bag's
    status says why); this never raises, because a report must always be written.
    """
    files = sum(1 for path in result_dir.rglob("*") if path.is_file()) if result_dir.is_dir() else 0
    try:
        manifest = json.loads((result_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        if result_dir.is_dir():
            log.warning("cannot read %s: %s", result_dir / MANIFEST, error)
        return OutputCounts(files=files)
    if not isinstance(manifest, dict):
        return OutputCounts(files=files)
    entries = _topic_entries(manifest)
    return OutputCounts(
        topics=len(entries),
        messages=sum(_message_count(entry) for entry in entries),
        files=files,
    )
