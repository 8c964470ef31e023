"""Deterministic views of a source folder: the file list, its content hash, and byte-identical
tar.gz / zip archives of it.

"Deterministic" means the same tree gives the same bytes on any machine and checkout: paths are
sorted and stored with `/`, timestamps are fixed, owners are dropped and permissions are reduced to
"executable or not" (git only tracks that bit, so it is all that survives a clone).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# Caches, virtual environments and build outputs: never part of what we ship or hash.
EXCLUDED_DIRS = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
        ".mypy_cache",
        "node_modules",
        "build",
        "dist",
    }
)
EXCLUDED_DIR_SUFFIXES = (".egg-info", ".dist-info-tmp")
EXCLUDED_FILE_SUFFIXES = (".pyc", ".pyo", ".swp", "~")
EXCLUDED_FILES = frozenset({".DS_Store"})

# 1980-01-01, the earliest time a zip entry can hold; used for tar entries too.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FIXED_MTIME = 315532800


@dataclass(frozen=True)
class SourceFile:
    """One file to ship: where it is on disk, where it goes in the archive, and its mode bit."""

    path: Path
    arcname: str
    executable: bool


def _excluded_dir(name: str) -> bool:
    return name in EXCLUDED_DIRS or name.endswith(EXCLUDED_DIR_SUFFIXES)


def _excluded_file(name: str) -> bool:
    return name in EXCLUDED_FILES or name.endswith(EXCLUDED_FILE_SUFFIXES)


def list_files(
    root: Path, prefix: str = "", *, exclude_dir: Callable[[str], bool] = _excluded_dir
) -> list[SourceFile]:
    """Every regular file under `root` except caches and build outputs, sorted by archive name.

    `prefix` is prepended to archive names; `exclude_dir` decides which folders to skip (vendored
    third-party code needs a narrower rule: a library may well have a module folder named `build`).

    Symbolic links are refused: what they point to differs between machines, so a tree holding
    one cannot be shipped deterministically.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"source folder {root} does not exist or is not a folder")
    files: list[SourceFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not exclude_dir(d)]
        for name in filenames:
            if _excluded_file(name):
                continue
            path = Path(dirpath, name)
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                raise ValueError(f"{path} is a symbolic link: replace it with the file it names")
            if not stat.S_ISREG(info.st_mode):
                continue
            arcname = prefix + path.relative_to(root).as_posix()
            files.append(SourceFile(path, arcname, bool(info.st_mode & stat.S_IXUSR)))
    return sorted(files, key=lambda f: f.arcname)


def content_hash(files: Iterable[SourceFile], extra: Iterable[str] = ()) -> str:
    """SHA-256 over archive names, executable bits and contents (and any `extra` strings).

    Each field is length-prefixed so that no two different trees can produce the same stream.
    """
    digest = hashlib.sha256()

    def feed(data: bytes) -> None:
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)

    for item in extra:
        feed(item.encode())
    for file in files:
        feed(file.arcname.encode())
        feed(b"x" if file.executable else b"-")
        feed(file.path.read_bytes())
    return digest.hexdigest()


def _mode(executable: bool) -> int:
    return 0o755 if executable else 0o644


def tar_gz(files: Iterable[SourceFile]) -> bytes:
    """A gzip-compressed tar of `files`, byte-identical for the same inputs."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for file in files:
            data = file.path.read_bytes()
            info = tarfile.TarInfo(file.arcname)
            info.size = len(data)
            info.mtime = FIXED_MTIME
            info.mode = _mode(file.executable)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    # gzip stores a timestamp and the file name in its header: pin both.
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=6) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def write_zip(target: Path, files: Iterable[SourceFile]) -> None:
    """Write a zip of `files` to `target`, byte-identical for the same inputs."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for file in files:
            entry = zipfile.ZipInfo(file.arcname, date_time=FIXED_DATE_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 3  # Unix, so that the permission bits below are honoured
            entry.external_attr = (stat.S_IFREG | _mode(file.executable)) << 16
            with file.path.open("rb") as source, zf.open(entry, "w") as sink:
                while chunk := source.read(1 << 20):
                    sink.write(chunk)
