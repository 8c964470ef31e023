"""One memory budget for everything the tables hold before writing it.

Each table buffers messages (or rows) and writes them in batches: bigger batches are
faster to write and give fewer Parquet row groups. Per-table limits alone would let
memory grow with the number of topics (measured on a 216 MB bag: 227 MB of peak RSS with 8
topics, 442 MB with 64, scripts/bench_memory.py). So all tables share one budget: when
what they hold together passes it, the tables holding most write theirs out first.
"""

from __future__ import annotations

from typing import Protocol

DEFAULT_LIMIT = 48 << 20  # bytes held by all tables together (raw messages, rows)
MESSAGE_OVERHEAD = 80  # Python objects per buffered raw message: bytes, list slots, its time


class Holder(Protocol):
    """A table's buffer: how much it holds (as counted against the budget), and a way to
    write it out (which must `release` what it held)."""

    held: int

    def write_out(self) -> None: ...


class Budget:
    """Counts what every holder holds; `over` tells the caller to call `relieve`."""

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.held = 0
        self._holders: list[Holder] = []

    def register(self, holder: Holder) -> None:
        self._holders.append(holder)

    def relieve(self) -> None:
        """Write out the fullest holders until at most half the budget is held.

        Half, not just below the limit: the next relief is then half a budget of input
        away, so this scan of every holder runs rarely whatever the number of topics.
        """
        while self.held > self.limit // 2:
            fullest = max(self._holders, key=lambda holder: holder.held)
            if fullest.held == 0:
                return
            fullest.write_out()
