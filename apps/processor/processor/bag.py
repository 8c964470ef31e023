"""Open any supported bag and give every connection a decoder, or the reason it has none.

rosbags' AnyReader builds one typestore for the whole bag and refuses the bag when any
stored definition is unusable. Here each distinct stored definition gets its own
typestore, so one broken definition costs only its own topic (reported as skipped),
and two recordings that disagree on a type's definition are each decoded faithfully.
"""

from __future__ import annotations

import ast
import heapq
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from rosbags.interfaces import Connection, MessageDefinitionFormat
from rosbags.rosbag1 import Reader as Reader1
from rosbags.rosbag1.reader import decompressors as ros1_decompressors
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore
from rosbags.typesys.msg import normalize_msgtype
from rosbags.typesys.store import Typestore

from processor.errors import BagError, TopicDecodeError, reason
from processor.wal import has_wal, merged_copy, readable_folder, scratch_folder, wal_file

if TYPE_CHECKING:
    # Imported where a ROS 2 bag is opened: 40 ms of every ROS 1 run's start-up otherwise
    # (python -X importtime), as ruamel.yaml is only for a metadata.yaml rosbags refuses.
    from rosbags.rosbag2 import Reader as Reader2

Decoder = Callable[[bytes], Any]
_StoreCache = dict[tuple[str, str, str], tuple[Typestore | None, str, "Decoder | None"]]
"""Per (type, stored definition, digest): its typestore, where that came from, and the one
decoder that every connection of that definition shares (so a batch of messages from
several publishers of a topic is seen as one: processor.batching)."""

ROS2_STORAGE_SUFFIXES = (".db3", ".mcap")
_IDL_SEPARATOR = "=" * 80 + "\n"
_MAGIC = {b"#ROSBAG V": "ROS 1 bag", b"\x89MCAP": "MCAP file", b"SQLite format 3": "sqlite3 file"}


class DefinitionError(Exception):
    """A connection's type cannot be decoded; the message is the reason shown to users."""


@dataclass(frozen=True)
class Stream:
    """One connection of the bag: what it is, how many messages it declares, how to decode."""

    connection: Connection
    topic: str
    msgtype: str
    declared: int
    decode: Decoder | None
    typestore: Typestore | None
    skip_reason: str | None
    definition_source: str
    cdr: bool
    """ROS 2 (CDR) wire format, else ROS 1."""


@dataclass
class Bag:
    """An open bag: its metadata and its connections as streams."""

    path: Path
    name: str
    kind: str
    version: str
    storage: str
    size: int
    start_ns: int
    end_ns: int
    compression: str
    streams: list[Stream]
    notes: list[str] = field(default_factory=list)
    metadata_counts: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Per topic (type, messages) as metadata.yaml declares them, kept when the storage
    files had to be read directly, so a shortfall against the metadata is still reported."""
    _readers: Sequence[Reader1 | Reader2] = ()

    def indexed_times(self, stream: Stream) -> tuple[int, int] | None:
        """First and last log time of a ROS 1 connection, from the bag's index (no reading)."""
        owner = stream.connection.owner
        if isinstance(owner, Reader1) and (index := owner.indexes.get(stream.connection.id)):
            return index[0].time, index[-1].time
        return None

    def messages(
        self, streams: Sequence[Stream], start: int | None = None, stop: int | None = None
    ) -> Iterator[tuple[Stream, int, bytes]]:
        """Raw messages of `streams` in log-time order, within [start, stop)."""
        if not streams:
            return
        by_connection = {id(stream.connection): stream for stream in streams}
        generators = []
        for reader in self._readers:
            mine = [s.connection for s in streams if s.connection.owner is _owner_of(reader)]
            if mine:
                generators.append(reader.messages(connections=mine, start=start, stop=stop))
        merged = generators[0] if len(generators) == 1 else heapq.merge(*generators, key=_time)
        for connection, timestamp, raw in merged:
            yield by_connection[id(connection)], timestamp, raw


def _time(item: tuple[Connection, int, bytes]) -> int:
    return item[1]


def _owner_of(reader: Reader1 | Reader2) -> object:
    """The object rosbags stores as `Connection.owner` for this reader's connections."""
    return reader if isinstance(reader, Reader1) else reader.storage


def bag_name(path: Path) -> str:
    """Output folder name: the file name without extension, or the ROS 2 folder's name."""
    return path.name if path.is_dir() else path.stem


@contextmanager
def open_bag(path: Path) -> Iterator[Bag]:
    """Open a ROS 1 bag, a ROS 2 bag folder or a bare .db3/.mcap file (BagError if unusable)."""
    if not path.exists():
        raise BagError(
            f"{path}: no such file or folder; give the path of a .bag, .db3, .mcap "
            "or ROS 2 bag folder"
        )
    with ExitStack() as stack:
        if path.is_dir():
            bag = _open_ros2_folder(path, stack)
        elif path.suffix == ".bag" or _sniff(path) == "ROS 1 bag":
            bag = _open_ros1(path, stack)
        elif path.suffix in ROS2_STORAGE_SUFFIXES:
            bag = _open_ros2_files(path, [path], stack, notes=[])
        else:
            kind = _sniff(path) or "file of unknown kind"
            raise BagError(
                f"{path}: a {kind} is not a bag; give a .bag, .db3, .mcap or ROS 2 bag folder"
            )
        yield bag


def _sniff(path: Path) -> str | None:
    try:
        with path.open("rb") as file:
            head = file.read(16)
    except OSError as err:
        raise BagError(f"{path}: cannot read: {err.strerror}") from None
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


# rosbags/rosbag2/reader.py: f'Some database files are missing: {[str(x) ...]!r}' (a list repr).
_MISSING_FILES = re.compile(r"Some database files are missing: (\[.*\])")


def _plain_missing_files(why: str) -> str:
    """rosbags names a ROS 2 folder's missing storage files as a Python list: name them plainly."""
    match = _MISSING_FILES.fullmatch(why)
    if not match:
        return why
    try:
        listed = ast.literal_eval(match[1])
    except (ValueError, SyntaxError):
        return why
    names = ", ".join(PurePath(str(name)).name for name in listed)
    return f"storage file(s) missing: {names}; metadata.yaml lists them: copy the whole bag folder"


def _open_reader(reader: Reader1 | Reader2, path: Path, stack: ExitStack) -> None:
    try:
        reader.open()
    except Exception as err:  # rosbags raises many kinds for damaged files
        why = reason(err)
        if isinstance(reader, Reader1) and "index" in why.lower():
            why += "; a bag cut short or still being recorded can be repaired: rosbag reindex"
        raise BagError(f"{path}: not a readable bag ({why})") from None
    stack.callback(reader.close)


def _open_ros1(path: Path, stack: ExitStack) -> Bag:
    reader = Reader1(path)
    _open_reader(reader, path, stack)
    names = {func: name for name, func in ros1_decompressors.items()}
    kinds = [names.get(chunk.decompressor, "unknown") for chunk in reader.chunks.values()]
    compression = (
        ", ".join(
            f"{kind} [{kinds.count(kind)}/{len(kinds)} chunks]" for kind in sorted(set(kinds))
        )
        or "none"
    )
    cache: _StoreCache = {}
    streams = [
        _stream(conn, is2=False, fallback=Stores.ROS1_NOETIC, cache=cache)
        for conn in reader.connections
    ]
    count = sum(s.declared for s in streams)
    return Bag(
        path=path,
        name=bag_name(path),
        kind="ROS 1 bag",
        version="2.0",
        storage="rosbag1",
        size=path.stat().st_size,
        start_ns=reader.start_time if count else 0,
        end_ns=reader.end_time if count else 0,
        compression=compression,
        streams=streams,
        _readers=[reader],
    )


def _open_ros2_folder(path: Path, stack: ExitStack) -> Bag:
    if not (path / "metadata.yaml").is_file():
        raise BagError(
            f"{path}: folder without metadata.yaml is not a ROS 2 bag; give the bag "
            "folder, or its .db3/.mcap file"
        )
    notes: list[str] = []
    source = readable_folder(path, stack, notes)  # the folder, or its WAL-merged view
    files = sorted(p for p in source.iterdir() if p.suffix in ROS2_STORAGE_SUFFIXES)
    from rosbags.rosbag2 import Reader as Reader2  # lazily: see TYPE_CHECKING above

    reader = Reader2(source)
    try:
        reader.open()
    except Exception as err:
        if not files:
            raise BagError(
                f"{path}: not a readable ROS 2 bag ({_plain_missing_files(reason(err))})"
            ) from None
        note = f"metadata.yaml unusable ({reason(err)}): read the storage files directly"
        bag = _open_ros2_files(path, files, stack, notes=[*notes, note])
        bag.metadata_counts = _metadata_counts(path / "metadata.yaml")
        return bag
    if lost := _unmatched_topics(reader):
        # rosbags matches metadata.yaml topics to storage topics exactly: a disagreement
        # would silently yield zero messages for them. The storage files are the truth.
        reader.close()
        note = (
            f"metadata.yaml disagrees with the storage files on {', '.join(sorted(lost))}: "
            "read the storage files directly"
        )
        bag = _open_ros2_files(path, files, stack, notes=[*notes, note])
        bag.metadata_counts = _metadata_counts(path / "metadata.yaml")
        return bag
    stack.callback(reader.close)
    return _ros2_bag(path, [reader], notes=notes)


def _metadata_counts(metadata: Path) -> dict[str, tuple[str, int]]:
    """Per-topic (type, message count) from metadata.yaml; empty if it cannot be read."""
    try:
        from ruamel.yaml import YAML  # lazily: see TYPE_CHECKING above

        document = YAML(typ="safe").load(metadata.read_text(encoding="utf-8"))
        entries = document["rosbag2_bagfile_information"]["topics_with_message_count"]
        counts = {}
        for entry in entries:
            topic = str(entry["topic_metadata"]["name"])
            counts[topic] = (
                normalize_msgtype(entry["topic_metadata"]["type"]),
                int(entry["message_count"]),
            )
    except Exception:  # an unreadable metadata.yaml declares nothing
        return {}
    return counts


def _unmatched_topics(reader: Reader2) -> set[str]:
    """Topics declared in metadata.yaml with messages that no storage connection matches."""
    storages = getattr(reader.storage, "storages", [])
    stored = [c for storage in storages for c in storage.connections]
    return {
        conn.topic
        for conn in reader.connections
        if conn.msgcount > 0
        and not any(
            s.topic == conn.topic
            and s.msgtype == conn.msgtype
            and s.ext == conn.ext
            and (not s.digest or not conn.digest or s.digest == conn.digest)
            for s in stored
        )
    }


def _open_ros2_files(path: Path, files: list[Path], stack: ExitStack, notes: list[str]) -> Bag:
    if not files:
        raise BagError(f"{path}: no .db3 or .mcap storage file found")
    readers: list[Reader2] = []
    if has_wal(files):  # a bare .db3 with committed rows still in its WAL file
        scratch = scratch_folder(stack)
        merged = [merged_copy(f, scratch) if wal_file(f) else (f, None) for f in files]
        files = [file for file, _ in merged]
        notes = [*notes, *(note for _, note in merged if note)]
    from rosbags.rosbag2 import Reader as Reader2  # lazily: see TYPE_CHECKING above

    for file in files:
        reader = Reader2(file)
        _open_reader(reader, file, stack)
        readers.append(reader)
    return _ros2_bag(path, readers, notes)


def _ros2_bag(path: Path, readers: list[Reader2], notes: list[str]) -> Bag:
    distro = next((r.ros_distro for r in readers if r.ros_distro), None)
    fallback = Stores.LATEST
    if distro and f"ros2_{distro}" in {s.value for s in Stores}:
        fallback = Stores(f"ros2_{distro}")
    cache: _StoreCache = {}
    streams = [
        _stream(c, is2=True, fallback=fallback, cache=cache) for r in readers for c in r.connections
    ]
    has_messages = any(s.declared for s in streams)
    suffixes = [p.suffix for p in path.iterdir()] if path.is_dir() else [path.suffix]
    storage_id = "mcap" if ".mcap" in suffixes else "sqlite3"
    first = readers[0]
    compression = " ".join(x for x in (first.compression_format, first.compression_mode) if x)
    size = (
        sum(p.stat().st_size for p in path.iterdir() if p.is_file())
        if path.is_dir()
        else path.stat().st_size
    )
    return Bag(
        path=path,
        name=bag_name(path),
        kind=f"ROS 2 bag ({storage_id})",
        version=_metadata_version(path),
        storage=storage_id,
        size=size,
        start_ns=min(r.start_time for r in readers) if has_messages else 0,
        end_ns=max(r.end_time for r in readers) if has_messages else 0,
        compression=compression or "none",
        streams=streams,
        notes=notes,
        _readers=readers,
    )


def _metadata_version(path: Path) -> str:
    """The rosbag2 metadata version of a bag folder ("-" for a bare storage file)."""
    metadata = path / "metadata.yaml"
    if not metadata.is_file():
        return "-"
    text = metadata.read_text(encoding="utf-8", errors="replace")
    match = re.search(r"^\s+version:\s*(\d+)\s*$", text, re.MULTILINE)
    return f"metadata {match[1]}" if match else "-"


def _stream(
    conn: Connection,
    *,
    is2: bool,
    fallback: Stores,
    cache: _StoreCache,
) -> Stream:
    msgtype = normalize_msgtype(conn.msgtype)
    topic = conn.topic  # as stored: `rel` and `/rel` are two topics (docs/processor.md, Names)
    key = (msgtype, conn.msgdef.data, conn.digest)
    skip_reason: str | None = None
    if key not in cache:
        try:
            store, found = _typestore(conn, msgtype, is2=is2, fallback=fallback)
            decoder = _cdr_decoder(store, msgtype) if is2 else _ros1_decoder(store, msgtype)
            cache[key] = (store, found, decoder)
        except DefinitionError as err:
            cache[key] = (None, str(err), None)
    typestore, source, decode = cache[key]
    if typestore is None:
        skip_reason, source = source, "none"
    return Stream(
        conn, topic, msgtype, conn.msgcount, decode, typestore, skip_reason, source, cdr=is2
    )


def _typestore(
    conn: Connection, msgtype: str, *, is2: bool, fallback: Stores
) -> tuple[Typestore, str]:
    """A typestore that decodes `conn` and where its definition came from."""
    msgdef = conn.msgdef
    if msgdef.format == MessageDefinitionFormat.NONE or not msgdef.data.strip():
        store = get_typestore(fallback)
        stored = (
            "an empty definition"
            if msgdef.format != MessageDefinitionFormat.NONE
            else ("no definition")
        )
        if msgtype not in store.fielddefs:
            raise DefinitionError(
                f"the bag stores {stored} for {msgtype} and the built-in "
                f"{fallback.value} typestore does not know the type"
            )
        _check_digest(store, conn, msgtype, is2=is2)
        return store, f"built-in {fallback.value} typestore"
    store = get_typestore(Stores.EMPTY)
    try:
        if msgdef.format == MessageDefinitionFormat.MSG:
            store.register(get_types_from_msg(msgdef.data, msgtype))
        elif msgdef.data.startswith(f"{_IDL_SEPARATOR}IDL: "):
            for part in msgdef.data.split(_IDL_SEPARATOR)[1:]:
                store.register(get_types_from_idl(part.split("\n", 1)[1]))
        else:
            store.register(get_types_from_idl(msgdef.data))
        store.get_msgdef(msgtype)
    except Exception as err:
        raise DefinitionError(
            f"the stored definition of {msgtype} cannot be used: {reason(err)}"
        ) from None
    _check_digest(store, conn, msgtype, is2=is2)
    return store, "stored in the bag"


def _check_digest(store: Typestore, conn: Connection, msgtype: str, *, is2: bool) -> None:
    if not conn.digest:
        return
    try:
        have = store.hash_rihs01(msgtype) if is2 else store.generate_msgdef(msgtype)[1]
    except Exception as err:
        raise DefinitionError(f"cannot hash the definition of {msgtype}: {reason(err)}") from None
    if have != conn.digest:
        raise DefinitionError(
            f"the definition of {msgtype} does not match the hash recorded "
            f"with it ({have} != {conn.digest})"
        )


def _ros1_decoder(store: Typestore, msgtype: str) -> Decoder:
    msgdef = store.get_msgdef(msgtype)
    deserialize, cls = msgdef.deserialize_ros1, msgdef.cls

    def decode(raw: bytes) -> Any:
        try:
            message, end = deserialize(raw, 0, cls, store)
        except Exception as err:
            raise TopicDecodeError(reason(err)) from None
        if end != len(raw):
            raise TopicDecodeError(f"message is {len(raw)} bytes, the definition reads {end}")
        return message

    return decode


def _cdr_decoder(store: Typestore, msgtype: str) -> Decoder:
    msgdef = store.get_msgdef(msgtype)
    cls = msgdef.cls
    little, big = msgdef.deserialize_cdr_le, msgdef.deserialize_cdr_be

    def decode(raw: bytes) -> Any:
        if len(raw) < 4 or raw[0] != 0 or raw[1] > 1:
            raise TopicDecodeError("invalid or unsupported CDR encapsulation")
        deserialize = little if raw[1] else big
        try:
            message, end = deserialize(memoryview(raw)[4:], 0, cls, store)
        except Exception as err:
            raise TopicDecodeError(reason(err)) from None
        if end + 4 + 3 < len(raw):
            raise TopicDecodeError(f"message is {len(raw)} bytes, the definition reads {end + 4}")
        return message

    return decode
