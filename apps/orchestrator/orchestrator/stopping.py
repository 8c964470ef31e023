"""Stopping cleanly when asked: SIGTERM, SIGHUP or SIGINT become a `Stopped` exception.

What ADF does to the Custom activity's Batch task when a pipeline run is cancelled, and whether
the process gets a signal before it is killed, is not documented (Batch has been seen ending
tasks with SIGKILL, exit code -9: Azure/Batch#101). So this is the fast path only: when a signal
comes, the executor ends its Batch job and outputs.json is written. When none comes, the job's
lease (executors/batch.py) ends it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class Stopped(BaseException):
    """A signal asked the orchestrator to stop (a cancelled run, a node shutting down)."""

    def __init__(self, signal_number: int) -> None:
        self.signal_name = signal.Signals(signal_number).name
        super().__init__(f"stopped by {self.signal_name}")


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Raise `Stopped` in the main thread on the first signal; ignore later ones while the
    run cleans up. The previous handlers are put back on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread can take signals
        return

    def handle(signal_number: int, frame: FrameType | None) -> None:
        for number in SIGNALS:
            signal.signal(number, signal.SIG_IGN)
        raise Stopped(signal_number)

    previous = {number: signal.signal(number, handle) for number in SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
