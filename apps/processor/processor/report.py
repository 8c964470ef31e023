"""What a run tells the person (or the Batch task log) on stderr once it is done: where the
output went and, for a partial output, every topic that was skipped or lost messages, why."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def problems(manifest: dict[str, Any]) -> list[str]:
    """One line per skipped topic and per topic with bad messages or notes."""
    lines = [
        f"skipped {entry['topic']} ({plural(entry['messages'], 'message')}): {entry['reason']}"
        for entry in manifest["skipped"]
    ]
    for topic in manifest["topics"]:
        if bad := topic.get("bad_messages", 0):
            first = topic["bad_examples"][0]["reason"]
            lines.append(f"{topic['topic']}: {plural(bad, 'bad message')} not written ({first})")
        lines.extend(
            f"{topic['topic']}: {plural(note['messages'], 'message')}: {note['note']}"
            for note in topic.get("notes", [])
        )
    return lines


def outcome(label: str, manifest: dict[str, Any], folder: Path) -> list[str]:
    """The lines for a finished extract or merge."""
    tables = plural(len(manifest["topics"]), "table")
    found = problems(manifest)
    if not found:
        return [f"{label}: complete: {tables} in {folder}"]
    return [
        f"{label}: PARTIAL: {tables} in {folder}; {plural(len(found), 'problem')} "
        "(listed in its manifest.json and info.txt):",
        *(f"{label}:   {line}" for line in found),
    ]
