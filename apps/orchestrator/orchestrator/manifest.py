"""Reading the processor's output folder: counts for reports and outputs.json.

The manifest's schema is the processor's (docs/processor.md): `topics` lists
the extracted topics, each with its `messages`; `messages` is their total.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from orchestrator.outcome import OutputCounts

SUCCESS_MARKER = "_SUCCESS"
MANIFEST = "manifest.json"

log = logging.getLogger(__name__)


def is_complete(result_dir: Path) -> bool:
    """The processor marks a finished output folder with `_SUCCESS`, written last."""
    return (result_dir / SUCCESS_MARKER).is_file()


def _messages(manifest: dict[str, Any], topics: list[Any]) -> int:
    total = manifest.get("messages")
    if isinstance(total, int):
        return total
    return sum(
        topic["messages"]
        for topic in topics
        if isinstance(topic, dict) and isinstance(topic.get("messages"), int)
    )


def read_counts(result_dir: Path) -> OutputCounts:
    """Topics and messages from `manifest.json`, files by walking the folder.

    A missing or unreadable manifest gives zero topics and messages (the bag's
    status says why); this never raises, because a report must always be written.
    """
    if not result_dir.is_dir():
        return OutputCounts()
    files = sum(1 for path in result_dir.rglob("*") if path.is_file())
    try:
        manifest = json.loads((result_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.warning("cannot read %s: %s", result_dir / MANIFEST, error)
        return OutputCounts(files=files)
    topics = manifest.get("topics") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or not isinstance(topics, list):
        log.warning("%s has no topics list: counting files only", result_dir / MANIFEST)
        return OutputCounts(files=files)
    return OutputCounts(topics=len(topics), messages=_messages(manifest, topics), files=files)
