"""Atomic output folders: build beside the target, then rename into place whole."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from processor.names import check_component, hidden_sibling

MANIFEST = "manifest.json"
SUCCESS = "_SUCCESS"


def within(root: Path, relative: str) -> Path:
    """`root/relative`, checked to stay inside `root`: every write and delete of bag output
    goes through here, so no name derived from the bag can reach another folder."""
    return root.joinpath(*(check_component(part) for part in relative.removesuffix("/").split("/")))


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A fresh hidden folder beside `target`; on success it replaces `target` whole.

    On any error the staging folder is removed and `target` (an older complete output,
    if any) is left untouched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=hidden_sibling(target.name, "tmp-"), dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the output is for everyone who reads the lake
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    replace_folder(staging, target)


def replace_folder(new: Path, target: Path) -> None:
    """Put `new` at `target`; an existing `target` is moved aside first, then deleted."""
    old: Path | None = None
    if target.exists():
        old = target.with_name(hidden_sibling(target.name, f"old-{uuid.uuid4().hex[:8]}"))
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_json(path: Path, document: Any) -> None:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def finish(folder: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest, then the _SUCCESS marker: the last two files, in this order."""
    write_json(folder / MANIFEST, manifest)
    (folder / SUCCESS).write_text("", encoding="utf-8")


def is_complete(folder: Path) -> bool:
    return (folder / SUCCESS).is_file() and (folder / MANIFEST).is_file()
