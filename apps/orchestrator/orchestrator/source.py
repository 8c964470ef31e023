"""What a bag is made of: its source id (has it changed?) and, for a ROS 2 folder, whether every
file its metadata.yaml lists has arrived.

The source id is read from file attributes, never from the bag's bytes: a sweep over ten
thousand bags on the NFS mount must cost one GETATTR per file, not a read of each bag
(docs/orchestrator.md "Exactly once"). It is `stat-v1:` and a digest of each file's name, size
and modification time (nanoseconds):

- Size and mtime change whenever a blob is written again: an NFS write or a Blob API upload
  (Put Blob / Put Block List) both set the blob's Last-Modified, which the NFS mount shows as
  the file's mtime (docs/azure-behaviour.md "Bag identity on the NFS mount"). NFS 3.0 shows no
  ETag: its file attributes (RFC 1813 section 2.6, fattr3) carry size, times and fileid only.
- The inode (NFS fileid) is left out: Blob NFS does not document it as stable across mounts
  and nodes, and an id that differs between the orchestrator node of one run and of the next
  would make every sweep re-extract every bag.
- What it misses: a rewrite of the same size within the same mtime tick (one second where the
  server keeps seconds), and a copy that restores an older mtime over changed bytes
  (`cp -p`, `rsync -a` of a different file). `--force` extracts again whatever the ledger says.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

ROS2_METADATA = "metadata.yaml"
SOURCE_ID_PREFIX = "stat-v1:"
_LIST_KEY = re.compile(r"^(\s*)relative_file_paths\s*:\s*(.*)$")
_ITEM = re.compile(r"^(\s*)-\s*(.*?)\s*$")


def source_id(path: Path, files: list[Path] | None = None) -> str:
    """The id of the bag at `path` (a file, or a ROS 2 folder whose `files` are given).

    Raises OSError when a file cannot be stat'ed (it went away: the bag changed)."""
    members = [path] if files is None else sorted(files)
    digest = hashlib.sha256()
    for member in members:
        info = member.stat()
        name = member.name if files is None else member.relative_to(path).as_posix()
        digest.update(f"{name}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return SOURCE_ID_PREFIX + digest.hexdigest()[:32]


class Incomplete(ValueError):
    """A ROS 2 folder that is not whole yet (message says what is missing)."""


def _unquoted(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def listed_files(metadata: str) -> list[str]:
    """The `relative_file_paths` of a rosbag2 metadata.yaml (block or flow list).

    A small reader of the one key we need: the orchestrator has no YAML dependency, and
    rosbag2 writes this key as a plain list of file names (rosbag2_storage
    yaml.hpp, `relative_file_paths`). Raises Incomplete when the key is absent."""
    lines = metadata.splitlines()
    for index, line in enumerate(lines):
        found = _LIST_KEY.match(line)
        if not found:
            continue
        indent, rest = len(found.group(1)), found.group(2).strip()
        if rest.startswith("["):
            inner = rest.strip("[]")
            return [_unquoted(item) for item in inner.split(",") if item.strip()]
        names: list[str] = []
        for item_line in lines[index + 1 :]:
            item = _ITEM.match(item_line)
            if not item or len(item.group(1)) < indent:
                break
            names.append(_unquoted(item.group(2)))
        return names
    raise Incomplete(f"its {ROS2_METADATA} lists no relative_file_paths")


def ros2_files(folder: Path) -> list[Path]:
    """metadata.yaml and every file it lists, all present; else Incomplete naming what is not.

    A listed name is untrusted text: one that leaves the folder is refused."""
    try:
        text = (folder / ROS2_METADATA).read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise Incomplete(f"its {ROS2_METADATA} cannot be read ({error.strerror})") from None
    names = listed_files(text)
    if not names:
        raise Incomplete(f"its {ROS2_METADATA} lists no storage files")
    files = [folder / ROS2_METADATA]
    missing: list[str] = []
    for name in names:
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise Incomplete(f"its {ROS2_METADATA} lists {name!r}, which is not inside the folder")
        candidate = folder / relative
        if candidate.is_file():
            files.append(candidate)
        else:
            missing.append(name)
    if missing:
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        shown = ", ".join(missing[:5]) + more
        raise Incomplete(f"waiting for {shown} listed in its {ROS2_METADATA}")
    return files
