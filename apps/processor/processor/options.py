"""The options that shape an output, as the command line gives them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FORMATS = ("csv", "parquet")
COLUMN_NAMES = ("dotted", "underscore")
POINT_CLOUDS = ("parquet", "pcd")


def slashed(topic: str) -> str:
    """A topic as given on the command line, with its leading slash: `imu` -> `/imu`."""
    return topic if topic.startswith("/") else f"/{topic}"


def normalized_topics(topics: Sequence[str] | None) -> tuple[str, ...] | None:
    """Topics as the bag names them (leading slash), sorted and unique; None for all."""
    if not topics:
        return None
    return tuple(sorted({slashed(t) for t in topics}))


@dataclass(frozen=True)
class Options:
    """How a bag is extracted: everything here changes what the output holds."""

    format: str = "csv"
    topics: tuple[str, ...] | None = None
    """Normalized (normalized_topics); None: every topic."""
    column_names: str = "dotted"
    """`dotted` (`header.stamp.sec`) or `underscore` (`header_stamp_sec`)."""
    point_clouds: str = "parquet"
    """PointCloud2 / PointCloud points as a Parquet table (`parquet`) or binary PCD file
    (`pcd`) per message (processor.pointclouds)."""

    @property
    def separator(self) -> str:
        return "_" if self.column_names == "underscore" else "."
