"""One background thread for the output's slow calls: file writes, PNG encoding and Arrow's
CSV/Parquet formatting all release the GIL, so on it they overlap with decoding.

Work runs in submission order, so one table's batches reach its file in order. What waits
is bounded in bytes, not items (a raw 4K frame weighs as much as a hundred JPEGs), so
memory stays bounded whatever the bag holds. The first failure is raised on the next
`submit`, `drain` or `close`, and nothing after it runs: output stops at the first error.

One thread: on the 2-core dev VM a second one (for frames alone) measured no faster, and
one thread keeps each table's batches in order without further bookkeeping.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

DEFAULT_BUDGET = 16 << 20  # bytes of payload waiting to be written


class BackgroundWriter:
    """Runs submitted calls in order on one thread, with at most `budget` bytes waiting."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self._budget = budget
        self._queue: deque[tuple[Callable[..., object], tuple[Any, ...], int]] = deque()
        self._waiting = 0  # bytes submitted and not yet written
        self._busy = False
        self._closed = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="background-writer", daemon=True)
        self._thread.start()

    def submit(self, call: Callable[..., object], *args: Any, size: int = 0) -> None:
        """Queue `call(*args)`; `size` is the bytes it holds, counted until it has run.

        Blocks while the budget is spent, except that work larger than the whole budget
        is admitted once nothing else waits (else it could never run).
        """
        with self._changed:
            while self._error is None and self._waiting and self._waiting + size > self._budget:
                self._changed.wait()
            self._raise_first_error()
            if self._closed:
                raise RuntimeError("the background writer is closed")
            self._queue.append((call, args, size))
            self._waiting += size
            self._changed.notify_all()

    def drain(self) -> None:
        """Wait until everything submitted has run; raise the first failure, if any."""
        with self._changed:
            while self._error is None and (self._queue or self._busy):
                self._changed.wait()
            self._raise_first_error()

    def close(self) -> None:
        """Run what is queued, stop the thread, and raise the first failure, if any."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join()
        with self._changed:
            self._raise_first_error()

    def _raise_first_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._queue and not self._closed:
                    self._changed.wait()
                if not self._queue or self._error is not None:
                    self._queue.clear()
                    self._waiting = 0
                    self._changed.notify_all()
                    return
                call, args, size = self._queue.popleft()
                self._busy = True
            try:
                call(*args)
            except BaseException as err:  # handed to the submitting thread
                error: BaseException | None = err
            else:
                error = None
            with self._changed:
                self._busy = False
                self._waiting -= size
                if error is not None and self._error is None:
                    self._error = error
                self._changed.notify_all()
