"""Combine shard parts: tables are concatenated in shard order, side files moved."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from processor.output import within

# What copy_file_range and sendfile raise where the file system or kernel cannot do them
# (man 2 copy_file_range, man 2 sendfile): then the next way is tried.
_UNSUPPORTED = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP}


def concat_tables(fmt: str, sources: Sequence[Path], target: Path) -> None:
    """Write `target` as the rows of `sources` in order (bounded memory: one batch at a time)."""
    if fmt == "csv":
        with target.open("wb") as out:
            for index, source in enumerate(sources):
                with source.open("rb") as file:
                    header = file.readline()
                    if index == 0:
                        out.write(header)
                    out.flush()
                    _copy_rest(file, out)
        return
    import pyarrow.parquet as pq

    schema = pq.read_schema(sources[0])
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for source in sources:
            parquet = pq.ParquetFile(source)
            for group in range(parquet.num_row_groups):
                writer.write_table(parquet.read_row_group(group))


def move_side_files(sources: Sequence[Path], target: Path) -> None:
    """Move every file of the `sources` folders into `target` (names are unique by log time)."""
    target.mkdir(exist_ok=True)
    for source in sources:
        for file in source.iterdir():
            file.rename(within(target, file.name))


def _copy_rest(source: BinaryIO, target: BinaryIO) -> None:
    """Append what is left of `source` to `target` (both flushed) inside the kernel:
    copy_file_range (Linux; on XFS or Btrfs the blocks may even be shared), else
    sendfile, else through Python: the bytes never pass through Python when it can."""
    start, end = source.tell(), os.fstat(source.fileno()).st_size
    for copier in (getattr(os, "copy_file_range", None), getattr(os, "sendfile", None)):
        if copier is None:
            continue
        offset = start
        try:
            while offset < end:
                if copier is os.sendfile:
                    done = copier(target.fileno(), source.fileno(), offset, end - offset)
                else:
                    done = copier(source.fileno(), target.fileno(), end - offset, offset)
                if done == 0:
                    break
                offset += done
        except OSError as err:
            if err.errno in _UNSUPPORTED and offset == start:
                continue  # this file system cannot, and nothing was copied: the next way
            raise
        target.seek(0, os.SEEK_END)
        return
    source.seek(start)
    shutil.copyfileobj(source, target, 1 << 20)
