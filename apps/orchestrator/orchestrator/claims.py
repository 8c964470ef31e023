"""Claims: when two runs take the same bag at once, one does the work.

A claim is a small file `<output>/_claims/<hash of the bag path>.claim`, made with an exclusive
create (`O_CREAT | O_EXCL`): of two runs creating it, exactly one succeeds (POSIX open(2); on
the NFS mount, NFS 3.0's EXCLUSIVE create, RFC 1813 section 3.3.8: docs/azure-behaviour.md
"Claims on the NFS mount"). Locks would not do: Blob NFS does not support the Network Lock
Manager (mounts use `-o nolock`).

- The claim names its run (the Batch job id): a retried ADF activity resumes the same job and
  takes its own claims back.
- A claim expires (`expires`, the run's timeout plus a margin): a run that died (a node lost,
  `kill -9`) does not hold its bags for ever. A claim of a dead process on this host is stale at
  once. Taking over a stale claim is itself guarded by an exclusive create (`.takeover`), so
  two runs breaking the same stale claim cannot both win.
- The run releases its claims when its tasks have finished, whatever happened.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CLAIMS_DIR = "_claims"
TAKEOVER_SECONDS = 60.0  # a takeover lock older than this belongs to a run that died in it


@dataclass(frozen=True)
class Holder:
    owner: str
    host: str
    pid: int
    expires: float


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Claims:
    folder: Path  # <data root>/<output>/_claims
    owner: str  # this run's job id
    ttl_seconds: float
    host: str = field(default_factory=socket.gethostname)
    clock: Callable[[], float] = time.time
    held: set[str] = field(default_factory=set)

    def _now(self) -> float:
        return self.clock()

    def path(self, bag_key: str) -> Path:
        digest = hashlib.sha256(bag_key.encode("utf-8")).hexdigest()[:32]
        return self.folder / f"{digest}.claim"

    def take(self, bag_key: str) -> str:
        """'' when this run now holds the bag's claim; else who holds it (one line)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(bag_key)
        for _ in range(3):
            if self._create(target, bag_key):
                self.held.add(bag_key)
                return ""
            holder = self._holder(target)
            if holder is not None and holder.owner == self.owner:
                self._rewrite(target, bag_key)  # a retried activity of the same job
                self.held.add(bag_key)
                return ""
            if not self._stale(target, holder):
                who = holder.owner if holder else "another run"
                return f"being extracted by {who} (claim {target.name})"
            self._break(target, holder)
        return f"its claim {target.name} keeps changing hands: another run is taking it"

    def release(self, bag_key: str) -> None:
        target = self.path(bag_key)
        holder = self._holder(target)
        if holder is not None and holder.owner == self.owner:
            target.unlink(missing_ok=True)
        self.held.discard(bag_key)

    def release_all(self) -> None:
        for bag_key in sorted(self.held):
            self.release(bag_key)

    def _document(self, bag_key: str) -> bytes:
        return json.dumps(
            {
                "owner": self.owner,
                "host": self.host,
                "pid": os.getpid(),
                "expires": self._now() + self.ttl_seconds,
                "bag": bag_key,
            }
        ).encode("utf-8")

    def _create(self, target: Path, bag_key: str) -> bool:
        try:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            os.write(descriptor, self._document(bag_key))
        finally:
            os.close(descriptor)
        return True

    def _rewrite(self, target: Path, bag_key: str) -> None:
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(self._document(bag_key))
        temporary.replace(target)

    def _holder(self, target: Path) -> Holder | None:
        try:
            loaded = json.loads(target.read_text(encoding="utf-8"))
            return Holder(
                str(loaded["owner"]),
                str(loaded["host"]),
                int(loaded["pid"]),
                float(loaded["expires"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # being written, or gone

    def _stale(self, target: Path, holder: Holder | None) -> bool:
        if holder is None:
            # Unreadable: being written this instant, or left half-written by a crash. Its age
            # tells which.
            try:
                return target.stat().st_mtime + self.ttl_seconds < self._now()
            except FileNotFoundError:
                return True
        if holder.expires < self._now():
            return True
        return holder.host == self.host and not _alive(holder.pid)

    def _break(self, target: Path, seen: Holder | None) -> None:
        """Remove a stale claim, unless someone else took it over meanwhile."""
        lock = target.with_name(target.name + ".takeover")
        try:
            descriptor = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                if lock.stat().st_mtime + TAKEOVER_SECONDS < self._now():
                    lock.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
            return
        os.close(descriptor)
        try:
            if self._holder(target) == seen:  # still the stale claim we judged
                target.unlink(missing_ok=True)
        finally:
            lock.unlink(missing_ok=True)
