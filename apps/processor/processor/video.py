"""`--video`: a camera topic's frames as H.264 MP4 files plus a frame index (issue 13).

Each camera topic (sensor_msgs/Image and CompressedImage) gets the folder `<stem>.video/`:
`<log_time_ns>.mp4` segments, named by their first frame's log time (so a shard names a
segment as the whole-bag run does), and `frames.csv` / `frames.parquet`, one row per frame in
a video: log time, header stamp, file, frame number in the file, pts.

- Timing is the recording's: a variable frame rate, each frame's pts its log time less the
  segment's first, in microseconds (time base 1/1 000 000). Log times closer than 1 us are
  moved 1 us apart (pts must grow), and the index holds the pts the file holds.
- A frame of another size than the segment's starts a new segment: a recording may change
  resolution, and scaling would invent pixels.
- H.264 in yuv420p needs even sizes: an odd width or height is padded by repeating the last
  column or row; the index keeps the frame's own width and height.
- Video is 8 bits per channel: 16-bit and float frames (depth), unknown encodings, frames whose
  sizes disagree and frames that do not decode (corrupt JPEG/PNG) stay side files, written as
  without `--video` (processor.sidefiles), and are counted in the topic's notes.
- Frames are decoded (Pillow for JPEG/PNG, numpy views for raw) on the decoding thread, and
  converted and encoded on the background writer, whose byte budget bounds what waits.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from processor.background import BackgroundWriter
from processor.output import within
from processor.rowtable import LOG_TIME_COLUMNS, RowTable
from processor.sidefiles import SideFiles, image_suffix
from processor.tables import SUFFIX

TIME_BASE = Fraction(1, 1_000_000)
_TICKS_PER_NS = 1_000  # ns per pts tick
# libx264 (the encoder PyAV's wheels ship; they have no libopenh264): `veryfast` keeps a 2-core
# VM's encoding near real time; CRF 20 is visually close to the source for ML review.
ENCODER = "libx264"
ENCODER_OPTIONS = {"preset": "veryfast", "crf": "20"}
# sensor_msgs/Image encodings a video can hold: PyAV pixel format, bytes per pixel.
_RAW_FORMATS: dict[str, tuple[str, int]] = {
    "mono8": ("gray", 1),
    "8uc1": ("gray", 1),
    "rgb8": ("rgb24", 3),
    "bgr8": ("bgr24", 3),
    "8uc3": ("bgr24", 3),
    "rgba8": ("rgba", 4),
    "bgra8": ("bgra", 4),
    "8uc4": ("bgra", 4),
    "bayer_rggb8": ("bayer_rggb8", 1),
    "bayer_bggr8": ("bayer_bggr8", 1),
    "bayer_gbrg8": ("bayer_gbrg8", 1),
    "bayer_grbg8": ("bayer_grbg8", 1),
}
_PILLOW_FORMATS = {"L": "gray", "RGB": "rgb24", "RGBA": "rgba"}
_DEEP_MODES = frozenset({"I", "F", "I;16", "I;16B", "I;16L", "I;16N"})
NOT_IN_VIDEO = "frames not in the video, kept as side files: "


def index_schema() -> pa.Schema:
    return pa.schema(
        [
            *LOG_TIME_COLUMNS,
            pa.field("header_stamp_ns", pa.int64()),
            pa.field("file", pa.string()),
            pa.field("frame", pa.int64()),
            pa.field("pts_us", pa.int64()),
            pa.field("width", pa.int32()),
            pa.field("height", pa.int32()),
        ]
    )


def index_name(folder: str, fmt: str) -> str:
    return f"{folder}/frames{SUFFIX[fmt]}"


class _Segment:
    """One MP4 file: frames of one size, encoded on the background writer."""

    def __init__(self, path: Path, relative: str, width: int, height: int, first_ns: int) -> None:
        import av

        self.relative = relative
        self.size = (width, height)
        self.first_ns = first_ns
        self.frames = 0
        self.last_pts = -1
        self._container: Any = av.open(str(path), "w", format="mp4")
        stream: Any = self._container.add_stream(ENCODER, options=ENCODER_OPTIONS)
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        self._stream = stream

    def next_pts(self, log_time: int) -> int:
        pts = max((log_time - self.first_ns) // _TICKS_PER_NS, self.last_pts + 1)
        self.last_pts = pts
        self.frames += 1
        return pts

    def encode(self, pixels: np.ndarray[Any, Any], pixel_format: str, pts: int) -> None:
        import av

        height, width = pixels.shape[:2]
        if width % 2 or height % 2:  # yuv420p halves both: repeat the last column / row
            pad = [(0, height % 2), (0, width % 2)] + [(0, 0)] * (pixels.ndim - 2)
            pixels = np.pad(pixels, pad, mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format=pixel_format)
        frame = frame.reformat(format="yuv420p")
        frame.pts = pts
        frame.time_base = TIME_BASE
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()


def _stamp_ns(message: Any, ros1: bool) -> int:
    stamp = message.header.stamp
    sec = stamp.sec & 0xFFFFFFFF if ros1 else stamp.sec  # ROS 1 seconds are unsigned
    return int(sec) * 1_000_000_000 + int(stamp.nanosec)


class VideoSink:
    """In place of SideFiles for a camera topic under `--video`: frames go to MP4 segments,
    everything else (and frames a video cannot hold) to SideFiles, as without `--video`."""

    def __init__(
        self,
        output: Path,
        folder: str,
        files: SideFiles,
        fmt: str,
        background: BackgroundWriter,
        *,
        ros1: bool,
    ) -> None:
        self.output = output
        self.folder = folder
        self.files = files
        self.time = 0
        self.ros1 = ros1
        self._fmt = fmt
        self._background = background
        self._segment: _Segment | None = None
        self.segments: list[str] = []
        self.frames = 0
        self._index: RowTable | None = None
        self.notes: dict[str, int] = {}

    @property
    def count(self) -> int:
        return self.files.count

    def blob(self, field: str, data: Any) -> str:
        self.files.time = self.time
        return self.files.blob(field, data)

    # A camera type holds no point cloud; these only complete the side-file interface.
    def point_cloud2(self, message: Any, field: str) -> str:
        self.files.time = self.time
        return self.files.point_cloud2(message, field)

    def point_cloud(self, message: Any, field: str) -> str:
        self.files.time = self.time
        return self.files.point_cloud(message, field)

    def _aside(self, why: str) -> None:
        note = NOT_IN_VIDEO + why
        self.notes[note] = self.notes.get(note, 0) + 1
        self.files.time = self.time

    def compressed_image(self, message: Any) -> str:
        data = message.data
        if len(data) == 0:
            return ""
        if image_suffix(bytes(data[:12]), message.format) == ".bin":
            self._aside("not an image format Pillow reads (JPEG, PNG, ...)")
            return self.files.compressed_image(message)
        from PIL import Image  # only --video runs with compressed frames pay for pillow here

        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                if image.mode in _DEEP_MODES:
                    self._aside("16-bit or float frames (video is 8-bit)")
                    return self.files.compressed_image(message)
                if image.mode not in _PILLOW_FORMATS:
                    image = image.convert("RGB")
                pixels = np.asarray(image)
                pixel_format = _PILLOW_FORMATS[image.mode]
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            self._aside(f"corrupt frames ({type(err).__name__})")
            return self.files.compressed_image(message)
        return self._add(message, pixels, pixel_format)

    def raw_image(self, message: Any) -> str:
        data = message.data
        if len(data) == 0:
            return ""
        encoding = message.encoding.lower()
        known = _RAW_FORMATS.get(encoding)
        width, height, step = message.width, message.height, message.step
        if known is None:
            self._aside(f"encoding {encoding[:40]!r} (video is 8-bit gray, color or Bayer)")
            return self.files.raw_image(message)
        pixel_format, pixel = known
        if width == 0 or height == 0 or step < width * pixel or len(data) != step * height:
            self._aside("sizes disagree with the data")
            return self.files.raw_image(message)
        rows = np.frombuffer(data, np.uint8).reshape(height, step)[:, : width * pixel]
        pixels = rows.reshape(height, width, pixel) if pixel > 1 else rows
        return self._add(message, pixels, pixel_format)

    def _add(self, message: Any, pixels: np.ndarray[Any, Any], pixel_format: str) -> str:
        height, width = pixels.shape[:2]
        segment = self._segment
        if segment is None or segment.size != (width, height):
            segment = self._start(width, height)
        pts = segment.next_pts(self.time)
        assert self._index is not None
        self._index.add(
            (
                self.time,
                _stamp_ns(message, self.ros1),
                segment.relative,
                segment.frames - 1,
                pts,
                width,
                height,
            )
        )
        self.frames += 1
        self._background.submit(segment.encode, pixels, pixel_format, pts, size=pixels.nbytes)
        return segment.relative

    def _start(self, width: int, height: int) -> _Segment:
        if self._segment is not None:
            self._background.submit(self._segment.close)
        else:
            within(self.output, self.folder).mkdir()
            self._index = RowTable(
                self._fmt,
                within(self.output, index_name(self.folder, self._fmt)),
                index_schema(),
                self._background,
            )
        stem, repeat = str(self.time), 1
        while f"{self.folder}/{stem}.mp4" in self.segments:  # equal log times
            stem, repeat = f"{self.time}-{repeat}", repeat + 1
        relative = f"{self.folder}/{stem}.mp4"
        self.segments.append(relative)
        self._segment = _Segment(within(self.output, relative), relative, width, height, self.time)
        return self._segment

    def close(self) -> None:
        """Finish the last segment and the index (their work is queued in order)."""
        if self._segment is not None:
            self._background.submit(self._segment.close)
            self._segment = None
        if self._index is not None:
            self._index.close()

    def summary(self) -> dict[str, Any] | None:
        """The manifest's `video` entry of the topic, or None when no frame went to video."""
        if not self.segments:
            return None
        return {
            "index": index_name(self.folder, self._fmt),
            "segments": list(self.segments),
            "frames": self.frames,
        }
