"""Committed rows that a crashed ROS 2 recorder left in a sqlite `-wal` file.

rosbag2's sqlite3 storage journals in WAL mode: rows are committed to `<name>.db3-wal`
first and copied into `<name>.db3` at a checkpoint, which a recorder that dies (power
loss, SIGKILL) never reaches. rosbags opens the database `immutable=1`, which reads the
main file only (https://www.sqlite.org/uri.html#uriimmutable), so those rows would be lost
without a word. The input is never written to: the database and its WAL are copied into a
scratch folder under $TMPDIR, the copy is checkpointed there, and the copy is read.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack, closing
from pathlib import Path

from processor.errors import BagError


def wal_file(db3: Path) -> Path | None:
    """The non-empty WAL file beside a sqlite database, if there is one."""
    wal = db3.with_name(f"{db3.name}-wal")
    return wal if db3.suffix == ".db3" and wal.is_file() and wal.stat().st_size > 0 else None


def has_wal(paths: list[Path]) -> bool:
    return any(wal_file(path) is not None for path in paths)


def _messages(database: Path, *, immutable: bool) -> int:
    import sqlite3  # here: ROS 1 and MCAP runs need none of it (start-up)

    uri = f"{database.resolve().as_uri()}?{'immutable=1' if immutable else 'mode=rw'}"
    with closing(sqlite3.connect(uri, uri=True)) as db:
        return int(db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def merged_copy(db3: Path, scratch: Path) -> tuple[Path, str]:
    """A copy of `db3` in `scratch` with its WAL checkpointed in, and a note for the manifest."""
    import sqlite3  # here: ROS 1 and MCAP runs need none of it (start-up)

    wal = wal_file(db3)
    assert wal is not None
    copy = scratch / db3.name
    try:
        shutil.copyfile(db3, copy)
        shutil.copyfile(wal, scratch / wal.name)
        before = _messages(db3, immutable=True)
        with closing(sqlite3.connect(copy)) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("PRAGMA journal_mode=DELETE")  # the copy is now one self-contained file
        gained = _messages(copy, immutable=True) - before
    except OSError as err:
        size = (db3.stat().st_size + wal.stat().st_size) / 1e6
        raise BagError(
            f"{wal}: reading its committed rows needs a {size:.0f} MB copy in {scratch.parent} "
            f"({err.strerror}); free space there or point TMPDIR at a larger disk"
        ) from None
    except sqlite3.Error as err:
        raise BagError(f"{db3}: its WAL file cannot be applied ({err})") from None
    note = (
        f"{wal.name} held {gained} committed messages not yet in {db3.name} (the recorder "
        "stopped without closing the bag): read from a checkpointed copy"
    )
    return copy, note


def scratch_folder(stack: ExitStack) -> Path:
    """A private folder under $TMPDIR, removed when `stack` closes."""
    scratch = Path(tempfile.mkdtemp(prefix="processor-wal-"))
    stack.callback(shutil.rmtree, scratch, ignore_errors=True)
    return scratch


def readable_folder(folder: Path, stack: ExitStack, notes: list[str]) -> Path:
    """A ROS 2 bag folder to read in place of `folder`: `folder` itself, or, when one of its
    databases has a WAL, a scratch folder of links to its files and merged database copies."""
    files = sorted(p for p in folder.iterdir() if p.is_file())
    if not has_wal(files):
        return folder
    scratch = scratch_folder(stack)
    for file in files:
        if file.name.endswith(("-wal", "-shm")):
            continue
        if wal_file(file) is not None:
            _, note = merged_copy(file, scratch)
            notes.append(note)
        else:
            (scratch / file.name).symlink_to(file.resolve())
    return scratch
