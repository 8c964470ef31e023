"""File names derived from bag content (topics, field names): safe, bounded and stable.

Topic names come from recordings made elsewhere and are untrusted: a topic may be `/..`,
hold separators, NULs or unicode, or be longer than a file name may be. The rules
(docs/processor.md, "Names") give each topic the same names whatever else the bag holds,
and never one another topic, the output's own files, or a path outside the folder can get:

- the topic's one leading `/` is dropped (a topic stored without one, `rel`, which ROS 1
  bags can hold beside `/rel`, starts with `~` instead: `~rel`) and each `/` between two
  characters other than `/` becomes `.`; every other character outside `A-Z a-z 0-9 _ -`
  (a literal `.`, `%`, `~`, spaces, other `/`, non-ASCII) is written `%XX`, byte by byte of
  its UTF-8. Decoding this gives the topic back, so two topics never share a name. A ROS
  name (`/camera/image_raw`) keeps its familiar form (`camera.image_raw`);
- the second and later tables of one topic (another type or definition) add `~2`, `~3`...
  (`~` is always escaped in a topic, so this cannot be another topic's name);
- a name longer than `MAX_STEM` bytes keeps its first bytes and ends in `~` and 16 hex
  digits of the SHA-256 of the topic (and table number);
- a table is `<stem>.csv` / `<stem>.parquet`, a side-file folder `<stem>.files/`, a video
  folder (`--video`) `<stem>.video/`: none can equal another, another topic's, or
  `info.json`, `info.txt`, `manifest.json`, `_SUCCESS` or the TF folder `tf/` (no suffix).
"""

from __future__ import annotations

import hashlib
import string

NAME_MAX = 255  # bytes in one path component (Linux, and ADLS Gen2 / Blob NFS path segments)
MAX_STEM = 200  # leaves room for `.parquet`, `.files` and what later suffixes may need
SIDE_FOLDER_SUFFIX = ".files"
VIDEO_FOLDER_SUFFIX = ".video"
_SAFE = frozenset(string.ascii_letters + string.digits + "_-")
_HASH_CHARS = 16


class UnsafePathError(AssertionError):
    """A path the processor built would leave its folder: a bug, never bag content."""


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # a lone surrogate still gets its own bytes


def _escape(text: str) -> str:
    return "".join(
        char if char in _SAFE else "".join(f"%{byte:02X}" for byte in _utf8(char)) for char in text
    )


def _bounded(name: str, identity: str) -> str:
    if len(name) <= MAX_STEM:
        return name
    digest = hashlib.sha256(_utf8(identity)).hexdigest()
    cut = MAX_STEM - _HASH_CHARS - 1
    cut -= next((back for back in (1, 2) if name[cut - back] == "%"), 0)  # no half `%XX`
    while cut >= 3 and name[cut] == "%" and 0x80 <= int(name[cut + 1 : cut + 3], 16) <= 0xBF:
        cut -= 3  # nor half a character: step back over UTF-8 continuation bytes
    return name[:cut] + "~" + digest[:_HASH_CHARS]


def escape_topic(topic: str) -> str:
    """The reversible, file-name-safe form of a topic (module doc), without length bound."""
    relative = not topic.startswith("/")
    rest = topic[1:] if not relative and topic[1:2] not in ("", "/") else topic
    parts = []
    for index, char in enumerate(rest):
        if char != "/":
            parts.append(_escape(char))
        elif 0 < index < len(rest) - 1 and rest[index - 1] != "/" and rest[index + 1] != "/":
            parts.append(".")
        else:
            parts.append("%2F")
    return ("~" if relative else "") + "".join(parts)


def topic_stem(topic: str, table: int = 1) -> str:
    """The file stem of the `table`-th table (1-based) of `topic`: `/imu/data` -> `imu.data`."""
    name = escape_topic(topic) + ("" if table == 1 else f"~{table}")
    return _bounded(name, topic if table == 1 else f"{topic}\0{table}")


def side_folder(stem: str) -> str:
    """The folder of a table's side files (camera frames, blobs)."""
    return stem + SIDE_FOLDER_SUFFIX


def video_folder(stem: str) -> str:
    """The folder of a camera topic's MP4 segments and frame index (`--video`)."""
    return stem + VIDEO_FOLDER_SUFFIX


def field_key(column: str) -> str:
    """A payload field's column (`data`, `cloud.data`) as part of a side file's name."""
    return _bounded(".".join(_escape(part) for part in column.split(".")), column)


def point_field_name(name: str) -> str:
    """A point cloud field's name (`x`, `intensity`; from the bag, untrusted) as a column and
    PCD field name: escaped as a topic's characters are (`.`, spaces, `~`, `%`, non-ASCII as
    `%XX`), so never a separator or a suffix the processor adds, bounded like a stem; an
    empty name is `~`, which no escaped name can be."""
    return _bounded(_escape(name), name) if name else "~"


def hidden_sibling(name: str, tag: str) -> str:
    """A hidden folder name beside output `name` (`.drive.tmp`, `.drive.shards`), short
    enough for a random suffix whatever the length of `name`."""
    if len(name.encode("utf-8", "surrogatepass")) <= MAX_STEM:
        return f".{name}.{tag}"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    return (
        f".{name.encode('utf-8', 'surrogatepass')[:100].decode('utf-8', 'ignore')}~{digest}.{tag}"
    )


def output_name_problem(name: str) -> str | None:
    """Why a bag's name cannot name its output folder, or None."""
    try:
        check_component(name)
    except UnsafePathError:
        return "it is not a possible folder name"
    if name.startswith("."):
        return "the folder would be hidden"
    return None


def check_component(name: str) -> str:
    """`name` if it can be one path component inside a folder; UnsafePathError otherwise."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\0" in name
        or len(_utf8(name)) > NAME_MAX
    ):
        raise UnsafePathError(f"{name!r} is not a safe file name")
    return name
