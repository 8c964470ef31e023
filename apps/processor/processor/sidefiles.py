"""Payloads written beside the tables: camera frames as images, point clouds as point tables
(Parquet) or PCD files, other blobs as .bin files.

Files are named by log time (``<topic folder>/<log_time_ns>.jpg``), so any shard of a
bag names a frame exactly as the whole-bag run does; equal log times on one topic get
``-1``, ``-2``... in arrival order.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from processor.background import BackgroundWriter
from processor.names import field_key
from processor.output import within
from processor.pointclouds import (
    KEPT_AS_BIN,
    KEPT_AS_JSON,
    SUFFIX,
    CloudReader,
    Points,
    cloud_as_json,
    pcd_bytes,
    points_table,
    write_parquet,
    write_pcd,
)

if TYPE_CHECKING:
    from PIL import Image

# Pillow decoder modes for sensor_msgs/Image encodings PNG can hold: (mode, raw mode,
# bytes per pixel).
_RAW_MODES: dict[str, tuple[str, str, int]] = {
    "mono8": ("L", "L", 1),
    "8uc1": ("L", "L", 1),
    "rgb8": ("RGB", "RGB", 3),
    "bgr8": ("RGB", "BGR", 3),
    "8uc3": ("RGB", "BGR", 3),
    "rgba8": ("RGBA", "RGBA", 4),
    "bgra8": ("RGBA", "BGRA", 4),
    "8uc4": ("RGBA", "BGRA", 4),
    "mono16": ("I;16", "I;16", 2),
    "16uc1": ("I;16", "I;16", 2),
}
KEPT_AS_IS = "frames kept as .bin, exactly their bytes: "
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", ".png"),
    (b"RIFF", ".webp"),
    (b"GIF8", ".gif"),
    (b"BM", ".bmp"),
)
# PNG's fastest level: frames are many and large, and the files stay lossless.
_PNG_LEVEL = 1


def image_suffix(head: bytes, declared: str) -> str:
    """The file extension of an encoded frame, from its bytes, else its `format` field."""
    for signature, suffix in _SIGNATURES:
        if head.startswith(signature):
            return suffix
    declared = declared.lower()
    for word, suffix in (("jpeg", ".jpg"), ("jpg", ".jpg"), ("png", ".png")):
        if word in declared and "compresseddepth" not in declared:
            return suffix
    return ".bin"


def _write_bytes(path: Path, data: Any) -> None:
    # Three system calls and no buffered-file object: each call hands the GIL back and
    # forth with the decoding thread, so fewer calls is what makes this thread keep up.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _write_png(path: Path, image: Image.Image) -> None:
    image.save(path, format="PNG", compress_level=_PNG_LEVEL)


def _inconsistency(
    size: int, width: int, height: int, step: int, modes: tuple[str, str, int]
) -> str | None:
    """Why a raw frame's bytes cannot be the image its header declares, or None."""
    pixel = modes[2]
    if width == 0 or height == 0:
        return "width or height is 0"
    if step < width * pixel:
        return "step is less than width x bytes per pixel"
    if size != step * height:
        return "data is not step x height bytes"
    return None


class SideFiles:
    """Writes one topic's payloads into `<output>/<folder>/` and returns relative paths."""

    def __init__(
        self,
        output: Path,
        folder: str,
        writer: BackgroundWriter,
        *,
        point_clouds: str = "parquet",
        separator: str = ".",
    ) -> None:
        self.writer = writer
        self.point_clouds = point_clouds
        """`parquet` (a point table per cloud) or `pcd` (binary PCD)."""
        self._clouds = CloudReader(separator)
        self.output = output
        self.folder = folder
        self.time = 0
        self.count = 0
        self._created = False
        self._last: dict[str, tuple[int, int]] = {}
        self.notes: dict[str, int] = {}
        """Frames that could not become images as declared: per reason, how many."""

    def _path(self, key: str, suffix: str) -> tuple[Path, str]:
        if not self._created:
            within(self.output, self.folder).mkdir()
            self._created = True
        last_time, repeats = self._last.get(key, (-1, 0))
        repeats = repeats + 1 if last_time == self.time else 0
        self._last[key] = (self.time, repeats)
        stem = f"{self.time}" if repeats == 0 else f"{self.time}-{repeats}"
        name = stem + suffix if key == "" else f"{stem}.{field_key(key)}{suffix}"
        relative = f"{self.folder}/{name}"
        self.count += 1
        return within(self.output, relative), relative

    def compressed_image(self, message: Any) -> str:
        data = message.data
        if len(data) == 0:
            return ""
        suffix = image_suffix(bytes(data[:12]), message.format)
        path, relative = self._path("", suffix)
        self.writer.submit(_write_bytes, path, data, size=len(data))
        return relative

    def raw_image(self, message: Any) -> str:
        data = message.data
        if len(data) == 0:
            return ""
        modes = _RAW_MODES.get(message.encoding.lower())
        width, height, step = message.width, message.height, message.step
        problem = None if modes is None else _inconsistency(len(data), width, height, step, modes)
        if modes is None or problem is not None:
            # Bayer, float depth, YUV... or a frame whose sizes disagree: kept exactly,
            # described by the row's other columns.
            if problem is not None:
                note = KEPT_AS_IS + problem
                self.notes[note] = self.notes.get(note, 0) + 1
            path, relative = self._path("", ".bin")
            self.writer.submit(_write_bytes, path, data, size=len(data))
            return relative
        mode, raw_mode, _ = modes
        if mode == "I;16" and message.is_bigendian:
            raw_mode = "I;16B"
        from PIL import Image  # only bags with raw frames pay for importing pillow

        image = Image.frombuffer(mode, (width, height), data, "raw", raw_mode, step, 1)
        path, relative = self._path("", ".png")
        self.writer.submit(_write_png, path, image, size=len(data))
        return relative

    def blob(self, field: str, data: Any) -> str:
        if len(data) == 0:
            return ""
        path, relative = self._path(field, ".bin")
        self.writer.submit(_write_bytes, path, data, size=len(data))
        return relative

    def _note(self, note: str) -> None:
        self.notes[note] = self.notes.get(note, 0) + 1

    def point_cloud2(self, message: Any, field: str) -> str:
        """A PointCloud2's points as a table or PCD file; kept as .bin if they cannot be
        read as its descriptor says."""
        data = message.data
        if len(data) == 0 and message.width * message.height == 0:
            return ""
        points = self._clouds.cloud2(message)
        if isinstance(points, str):
            self._note(KEPT_AS_BIN + points)
            return self.blob(field, data)
        return self._points(field, points)

    def point_cloud(self, message: Any, field: str) -> str:
        """A PointCloud's points and channels as a table or PCD file; kept as JSON if its
        channels do not hold a value per point."""
        if not message.points and not any(len(c.values) for c in message.channels):
            return ""
        points = self._clouds.cloud(message)
        if isinstance(points, str):
            self._note(KEPT_AS_JSON + points)
            document = cloud_as_json(message)
            path, relative = self._path(field, ".json")
            self.writer.submit(_write_bytes, path, document, size=len(document))
            return relative
        return self._points(field, points)

    def _points(self, field: str, points: Points) -> str:
        path, relative = self._path(field, SUFFIX[self.point_clouds])
        if self.point_clouds == "pcd":
            header, data = pcd_bytes(points)
            self.writer.submit(write_pcd, path, header, data, size=data.nbytes)
        else:
            self.writer.submit(write_parquet, path, points_table(points), size=points.nbytes)
        return relative
