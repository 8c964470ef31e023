"""What a run tells the person (or the Batch task log) on stderr once it is done: where the
output went and, for a partial output, every topic that was skipped or lost messages, why."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def problems(manifest: dict[str, Any]) -> list[str]:
    """One line per skipped topic and per topic with bad messages: what makes an output
    partial (exit 3, docs/processor.md "Faithful or loud")."""
    lines = [
        f"skipped {entry['topic']} ({plural(entry['messages'], 'message')}): {entry['reason']}"
        for entry in manifest["skipped"]
    ]
    for topic in manifest["topics"]:
        if bad := topic.get("bad_messages", 0):
            first = topic["bad_examples"][0]["reason"]
            lines.append(f"{topic['topic']}: {plural(bad, 'bad message')} not written ({first})")
    return lines


def notes(manifest: dict[str, Any]) -> list[str]:
    """One line per topic note (messages kept as their bytes or as JSON): every message is
    in the output, so a note leaves it complete."""
    return [
        f"{topic['topic']}: {plural(note['messages'], 'message')}: {note['note']}"
        for topic in manifest["topics"]
        for note in topic.get("notes", [])
    ]


def outcome(label: str, manifest: dict[str, Any], folder: Path) -> list[str]:
    """The lines for a finished extract or merge."""
    tables = plural(len(manifest["topics"]), "table")
    found = problems(manifest)
    noted = [f"{label}:   note: {line}" for line in notes(manifest)]
    if not found:
        return [f"{label}: complete: {tables} in {folder}", *noted]
    return [
        f"{label}: PARTIAL: {tables} in {folder}; {plural(len(found), 'problem')} "
        "(listed in its manifest.json and info.txt):",
        *(f"{label}:   {line}" for line in found),
        *noted,
    ]
