"""Progress lines on stderr for long extractions: rate, percent of the time range, ETA."""

from __future__ import annotations

import sys
import time
from typing import TextIO

INTERVAL_S = 5.0


class Progress:
    """Reports at most every `interval` seconds; percent is how far log time has advanced."""

    def __init__(
        self,
        label: str,
        start_ns: int,
        stop_ns: int,
        *,
        interval: float = INTERVAL_S,
        stream: TextIO | None = None,
    ) -> None:
        self.label = label
        self.start_ns = start_ns
        self.span_ns = max(stop_ns - start_ns, 1)
        self.interval = interval
        self.stream = stream or sys.stderr
        self.began = time.monotonic()
        self._next = self.began + interval

    def update(self, messages: int, log_time_ns: int) -> None:
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.interval
        elapsed = now - self.began
        done = min(max((log_time_ns - self.start_ns) / self.span_ns, 0.0), 1.0)
        eta = f", ~{elapsed * (1 - done) / done:.0f} s left" if done > 0 else ""
        print(
            f"{self.label}: {messages} messages, {messages / elapsed:.0f} msg/s, "
            f"{done:.0%} of the time range{eta}",
            file=self.stream,
            flush=True,
        )

    def finish(self, messages: int) -> None:
        elapsed = max(time.monotonic() - self.began, 1e-9)
        print(
            f"{self.label}: read {messages} message{'' if messages == 1 else 's'} in "
            f"{elapsed:.1f} s ({messages / elapsed:.0f} msg/s)",
            file=self.stream,
            flush=True,
        )
