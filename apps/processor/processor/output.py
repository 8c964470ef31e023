"""Atomic output folders: build beside the target, then rename into place whole."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import tempfile
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from processor.errors import BagError
from processor.names import check_component, hidden_sibling

MANIFEST = "manifest.json"
SUCCESS = "_SUCCESS"


def within(root: Path, relative: str) -> Path:
    """`root/relative`, checked to stay inside `root`: every write and delete of bag output
    goes through here, so no name derived from the bag can reach another folder."""
    return root.joinpath(*(check_component(part) for part in relative.removesuffix("/").split("/")))


# Where the output cannot go, whatever the bag: the disk or the user's quota is full, a file-size
# limit (ulimit -f) is hit, or the file system is read-only (errno(3)). Retrying cannot help, so
# these are one line and exit 2. EIO is left out on purpose: on NFS it can pass, and a retry may.
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A fresh hidden folder beside `target`; on success it replaces `target` whole.

    On any error (SIGTERM included: processor.cli turns it into an exception) the staging
    folder is removed and `target` (an older complete output, if any) is left untouched.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=hidden_sibling(target.name, "tmp-"), dir=target.parent)
        )
    except OSError as err:
        raise BagError(
            f"{target.parent}: cannot create the output folder ({err.strerror}); "
            "choose an OUTDIR this user can write to"
        ) from None
    try:  # from here on, whatever stops the run (SIGTERM included) removes the staging folder
        staging.chmod(0o755)  # mkdtemp makes it private; the output is for all who read the lake
        yield staging
        with _signals_deferred():  # never stopped between moving the old output and the new
            replace_folder(staging, target)
    except OSError as err:
        shutil.rmtree(staging, ignore_errors=True)
        if err.errno not in _NO_ROOM:
            raise
        raise BagError(
            f"{target.parent}: {err.strerror or os.strerror(err.errno)} while writing the "
            "output; nothing was marked complete. Free space (or quota) there, lift the "
            "file-size limit, or choose another OUTDIR"
        ) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGTERM and SIGINT wait until the block is done (main thread only, as signals are)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_RENAME_ATTEMPTS = 10


def replace_folder(new: Path, target: Path) -> None:
    """Put `new` at `target`; an existing `target` is moved aside first, then deleted.

    Another run of the same bag may put its output at `target` between the two renames
    (Batch can retry a task whose first try is still finishing): then that output is moved
    aside in turn and the rename tried again, so the last run to finish wins, whole.
    """
    for _ in range(_RENAME_ATTEMPTS):
        old: Path | None = None
        if target.exists():
            old = target.with_name(hidden_sibling(target.name, f"old-{uuid.uuid4().hex[:8]}"))
            try:
                target.rename(old)
            except FileNotFoundError:  # a rival run moved it first
                old = None
        try:
            new.rename(target)
            return
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    raise RuntimeError(f"{target}: other runs kept replacing it; gave up after {_RENAME_ATTEMPTS}")


def write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def finish(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest, then the _SUCCESS marker: the last two files, in this order."""
    write_json(folder / MANIFEST, manifest)
    (folder / SUCCESS).write_text("", encoding="utf-8")


def is_complete(folder: Path) -> bool:
    return (folder / SUCCESS).is_file() and (folder / MANIFEST).is_file()
