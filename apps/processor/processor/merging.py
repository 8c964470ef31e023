"""Combine shard parts: tables are concatenated in shard order, side files moved."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from processor.output import within
from processor.tables import SUFFIX


def concat_tables(fmt: str, sources: Sequence[Path], target: Path) -> None:
    """Write `target` as the rows of `sources` in order (bounded memory: one batch at a time)."""
    if fmt == "csv":
        with target.open("wb") as out:
            for index, source in enumerate(sources):
                with source.open("rb") as file:
                    header = file.readline()
                    if index == 0:
                        out.write(header)
                    shutil.copyfileobj(file, out, 1 << 20)
        return
    import pyarrow.parquet as pq

    schema = pq.read_schema(sources[0])
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for source in sources:
            parquet = pq.ParquetFile(source)
            for group in range(parquet.num_row_groups):
                writer.write_table(parquet.read_row_group(group))


def merge_video(fmt: str, sources: Sequence[Path], target: Path) -> None:
    """A camera topic's video folders: the frame indexes concatenated in shard order, the
    segments moved (named by their first frame's log time, so unique across shards). A
    sharded run's video is cut at the shard boundaries: one segment more per boundary."""
    index = "frames" + SUFFIX[fmt]
    target.mkdir()
    concat_tables(fmt, [within(source, index) for source in sources], within(target, index))
    for source in sources:
        for file in source.iterdir():
            if file.name != index:
                file.rename(within(target, file.name))


def move_side_files(sources: Sequence[Path], target: Path) -> None:
    """Move every file of the `sources` folders into `target` (names are unique by log time)."""
    target.mkdir(exist_ok=True)
    for source in sources:
        for file in source.iterdir():
            file.rename(within(target, file.name))
