"""Reading the processor's output folder: counts for reports and outputs.json.

The manifest's schema is the processor's (docs/processor.md): `topics` lists the extracted
topics, each with its `messages`, its `files` (tables, and side-file folders ending in `/`) and
its `side_files` count; `messages` is their total. Counts come from the manifest alone: walking
a bag's output over NFS would cost a request per file (a camera topic has one per frame).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orchestrator.outcome import OutputCounts

SUCCESS_MARKER = "_SUCCESS"
MANIFEST = "manifest.json"
READ_WORKERS = 8

log = logging.getLogger(__name__)


def is_complete(result_dir: Path) -> bool:
    """A finished output folder, as the processor means it (processor/output.py is_complete):
    its manifest and the `_SUCCESS` marker written after it (tests/test_contracts.py)."""
    return (result_dir / SUCCESS_MARKER).is_file() and (result_dir / MANIFEST).is_file()


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _messages(manifest: dict[str, Any], topics: list[Any]) -> int:
    total = manifest.get("messages")
    if isinstance(total, int):
        return total
    return sum(_int(topic.get("messages")) for topic in topics if isinstance(topic, dict))


def _files(topic: Any) -> int:
    """A topic's tables plus its side files (a listed folder stands for `side_files` files)."""
    if not isinstance(topic, dict):
        return 0
    listed = topic.get("files")
    names = listed if isinstance(listed, list) else []
    tables = sum(1 for name in names if isinstance(name, str) and not name.endswith("/"))
    return tables + _int(topic.get("side_files"))


def read_counts(result_dir: Path) -> OutputCounts:
    """Topics, messages and files from `manifest.json`; unknown when it cannot be read.

    Never raises, because a report must always be written.
    """
    try:
        manifest = json.loads((result_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        log.warning("cannot read %s: %s", result_dir / MANIFEST, error)
        return OutputCounts(known=False)
    topics = manifest.get("topics") if isinstance(manifest, dict) else None
    if not isinstance(manifest, dict) or not isinstance(topics, list):
        log.warning("%s has no topics list: counts unknown", result_dir / MANIFEST)
        return OutputCounts(known=False)
    return OutputCounts(
        topics=len(topics),
        messages=_messages(manifest, topics),
        files=sum(_files(topic) for topic in topics),
        skipped=_skipped(manifest),
        absent_topics=_names(manifest.get("absent_topics")),
        bag_topics=_names(manifest.get("bag_topics")) or (),
    )


def _names(listed: Any) -> tuple[str, ...] | None:
    """Topic names from the bag: untrusted text, cut short and made one line."""
    if not isinstance(listed, list):
        return None
    return tuple(_one_line(name, 200) for name in listed)


def _skipped(manifest: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(topic, reason) of each skipped topic; the names come from the bag: untrusted text,
    cut short and made one line before anyone prints them."""
    listed = manifest.get("skipped")
    entries = listed if isinstance(listed, list) else []
    return tuple(
        (_one_line(entry.get("topic"), 200), _one_line(entry.get("reason"), 300))
        for entry in entries
        if isinstance(entry, dict)
    )


def _one_line(value: Any, limit: int) -> str:
    text = " ".join(str(value).split()) if value is not None else "?"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_all_counts(
    result_dirs: Iterable[Path], *, budget_seconds: float, workers: int = READ_WORKERS
) -> dict[Path, OutputCounts]:
    """The counts of many folders, read in parallel, within `budget_seconds` in all.

    An NFS read can block for as long as the server takes (a hard mount never gives up), and
    the report must reach ADF before the activity's timeout. Folders not read in time count as
    unknown; the threads still reading are daemons and die with the process.
    """
    pending: queue.Queue[Path] = queue.Queue()
    folders = list(dict.fromkeys(result_dirs))
    for folder in folders:
        pending.put(folder)
    found: dict[Path, OutputCounts] = {}
    lock = threading.Lock()

    def work() -> None:
        while True:
            try:
                folder = pending.get_nowait()
            except queue.Empty:
                return
            counts = read_counts(folder)
            with lock:
                found[folder] = counts

    threads = [
        threading.Thread(target=work, name="read-manifests", daemon=True)
        for _ in range(max(1, min(workers, len(folders))))
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + budget_seconds
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    with lock:
        result = {folder: found.get(folder, OutputCounts(known=False)) for folder in folders}
    unread = sum(1 for folder in folders if folder not in found)
    if unread:
        log.warning(
            "counts of %d of %d bags not read within %.0f s (slow storage): reported as unknown",
            unread,
            len(folders),
            budget_seconds,
        )
    return result
