"""Claims: when two runs take the same bag at once, one does the work.

A claim is a directory `<output>/_claims/<hash of the bag path>.claim/` holding the owner's
record (`holder.json`). It is made with `mkdir`: of two runs creating it, exactly one succeeds
(POSIX mkdir(2) EEXIST; on the NFS mount, NFS 3.0's MKDIR answers NFS3ERR_EXIST for an existing
name, RFC 1813 section 3.3.9: docs/azure-behaviour.md "Claims on the NFS mount"). Not an
exclusive file create (`O_EXCL`): RFC 1813 section 3.3.8 lets a server refuse EXCLUSIVE create
with NFS3ERR_NOTSUPP (errno 524 on Linux), and whether Blob NFS does is unconfirmed. Locks would
not do: Blob NFS does not support the Network Lock Manager (mounts use `-o nolock`).

- The record is written after the directory is made (atomically, by rename): a claim directory
  without its record yet counts as freshly taken by someone else, until it is older than a
  claim's lifetime (its maker died between the two steps).
- The claim names its run (the Batch job id): a retried ADF activity resumes the same job and
  takes its own claims back.
- A claim expires (`expires`, the run's timeout plus a margin): a run that died (a node lost,
  `kill -9`) does not hold its bags for ever. A claim of a dead process on this host is stale at
  once. Taking over a stale claim is itself guarded by a directory create (`.takeover`), so
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
RECORD = "holder.json"
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

    def claim(self, bag_key: str) -> Path:
        """The claim directory: whoever makes it holds the bag."""
        digest = hashlib.sha256(bag_key.encode("utf-8")).hexdigest()[:32]
        return self.folder / f"{digest}.claim"

    def path(self, bag_key: str) -> Path:
        """The claim's owner record."""
        return self.claim(bag_key) / RECORD

    def takeover_lock(self, bag_key: str) -> Path:
        claim = self.claim(bag_key)
        return claim.with_name(claim.name + ".takeover")

    def take(self, bag_key: str) -> str:
        """'' when this run now holds the bag's claim; else who holds it (one line)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        claim = self.claim(bag_key)
        for _ in range(3):
            if self._create(claim, bag_key):
                self.held.add(bag_key)
                return ""
            holder = self._holder(claim)
            if holder is not None and holder.owner == self.owner:
                self._write(claim, bag_key)  # a retried activity of the same job
                self.held.add(bag_key)
                return ""
            if not self._stale(claim, holder):
                who = holder.owner if holder else "another run"
                return f"being extracted by {who} (claim {claim.name})"
            self._break(bag_key, holder)
        return f"its claim {claim.name} keeps changing hands: another run is taking it"

    def release(self, bag_key: str) -> None:
        claim = self.claim(bag_key)
        holder = self._holder(claim)
        if holder is not None and holder.owner == self.owner:
            _remove(claim)
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

    def _create(self, claim: Path, bag_key: str) -> bool:
        try:
            claim.mkdir()
        except FileExistsError:
            return False
        self._write(claim, bag_key)
        return True

    def _write(self, claim: Path, bag_key: str) -> None:
        # Written whole then renamed in: a reader sees no record or a whole one.
        temporary = claim / f".{RECORD}.{os.getpid()}.tmp"
        temporary.write_bytes(self._document(bag_key))
        temporary.replace(claim / RECORD)

    def _holder(self, claim: Path) -> Holder | None:
        try:
            loaded = json.loads((claim / RECORD).read_text(encoding="utf-8"))
            return Holder(
                str(loaded["owner"]),
                str(loaded["host"]),
                int(loaded["pid"]),
                float(loaded["expires"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None  # not written yet, or gone

    def _stale(self, claim: Path, holder: Holder | None) -> bool:
        if holder is None:
            # No record: its maker is writing it this instant, or died between mkdir and the
            # record. The directory's age tells which.
            try:
                return claim.stat().st_mtime + self.ttl_seconds < self._now()
            except FileNotFoundError:
                return True
        if holder.expires < self._now():
            return True
        return holder.host == self.host and not _alive(holder.pid)

    def _break(self, bag_key: str, seen: Holder | None) -> None:
        """Remove a stale claim, unless someone else took it over meanwhile."""
        claim, lock = self.claim(bag_key), self.takeover_lock(bag_key)
        try:
            lock.mkdir()
        except FileExistsError:
            try:
                if lock.stat().st_mtime + TAKEOVER_SECONDS < self._now():
                    _remove(lock)
            except FileNotFoundError:
                pass
            return
        try:
            if self._holder(claim) == seen:  # still the stale claim we judged
                _remove(claim)
        finally:
            _remove(lock)


def _remove(folder: Path) -> None:
    """Remove a claim or lock directory and what is in it (a record, a crashed writer's temp)."""
    try:
        for child in folder.iterdir():
            child.unlink(missing_ok=True)
        folder.rmdir()
    except FileNotFoundError:
        pass
