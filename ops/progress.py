"""Live progress of a pipeline run: one line whenever something changes, and a heartbeat line
now and then so a CI log shows the command is alive. Plain lines, no cursor tricks, so the same
output reads well in a terminal and in a CI log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from ops.run_state import Snapshot


def clock_text(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def progress_line(snapshot: Snapshot) -> str:
    parts = [f"pipeline {snapshot.pipeline_status}"]
    parts.extend(f"{activity.name} {activity.status}" for activity in snapshot.activities)
    if snapshot.tasks is not None:
        parts.append(snapshot.tasks.describe())
    elif snapshot.activities:
        parts.append(f"job {snapshot.job_id} not created yet")
    return f"[{clock_text(snapshot.elapsed_seconds)}] " + " | ".join(parts)


@dataclass
class ProgressPrinter:
    stream: TextIO
    heartbeat_seconds: float = 60.0
    _last_key: tuple[object, ...] | None = field(default=None, init=False)
    _last_printed_at: float = field(default=0.0, init=False)

    def update(self, snapshot: Snapshot) -> None:
        key = snapshot.key()
        stale = snapshot.elapsed_seconds - self._last_printed_at >= self.heartbeat_seconds
        if key != self._last_key or stale:
            print(progress_line(snapshot), file=self.stream, flush=True)
            self._last_key = key
            self._last_printed_at = snapshot.elapsed_seconds

    def note(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
