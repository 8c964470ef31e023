"""Per-topic figures for the catalog and the reports: rate, largest gap, GPS track, timeline."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from orchestrator.lakehouse.rows import LOG_TIME_NS

NAVSATFIX = "sensor_msgs/msg/NavSatFix"
CAMERA_TYPES = ("sensor_msgs/msg/CompressedImage", "sensor_msgs/msg/Image")
TIMELINE_BINS = 120
GPS_COLUMNS = ("latitude", "longitude", "status.status")  # what gps_track reads
# The report's track is drawn from at most this many fixes (evenly spaced, the last kept): a
# day's 10 Hz fixes as Python tuples would be hundreds of MB; the length uses every fix.
MAX_TRACK_POINTS = 2_000
EARTH_RADIUS_M = 6_371_008.8  # the mean radius (IUGG), for the haversine track length


@dataclass
class TopicStats:
    topic: str
    msgtype: str
    table: str
    messages: int
    first_ns: int | None
    last_ns: int | None
    rate_hz: float | None
    largest_gap_s: float | None
    times: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0, np.int64))


@dataclass
class GpsTrack:
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float
    length_m: float
    points: list[tuple[float, float]]


def topic_stats(topic: str, msgtype: str, table: str, times: np.ndarray) -> TopicStats:
    times = np.sort(times.astype(np.int64))
    count = len(times)
    if count == 0:
        return TopicStats(topic, msgtype, table, 0, None, None, None, None, times)
    span = float(times[-1] - times[0]) / 1e9
    gap = float(np.diff(times).max()) / 1e9 if count > 1 else None
    rate = (count - 1) / span if count > 1 and span > 0 else None
    return TopicStats(topic, msgtype, table, count, int(times[0]), int(times[-1]), rate, gap, times)


def log_times(data: pa.Table) -> np.ndarray:
    return data.column(LOG_TIME_NS).to_numpy()


def gps_track(data: pa.Table) -> GpsTrack | None:
    """The fixes' bounding box and haversine length; fixes with status < 0 (no fix) are left out."""
    if "latitude" not in data.column_names or "longitude" not in data.column_names:
        return None
    lat = np.asarray(data.column("latitude").to_numpy(zero_copy_only=False), dtype=float)
    lon = np.asarray(data.column("longitude").to_numpy(zero_copy_only=False), dtype=float)
    keep = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if "status.status" in data.column_names:
        status = data.column("status.status").fill_null(-1).to_numpy(zero_copy_only=False)
        keep &= status >= 0
    lat, lon = lat[keep], lon[keep]
    if len(lat) == 0:
        return None
    return GpsTrack(
        float(lat.min()),
        float(lat.max()),
        float(lon.min()),
        float(lon.max()),
        _haversine_m(lat, lon),
        _drawn(lat, lon),
    )


def _drawn(lat: np.ndarray, lon: np.ndarray) -> list[tuple[float, float]]:
    step = max(1, -(-len(lat) // MAX_TRACK_POINTS))
    keep = np.unique(np.append(np.arange(0, len(lat), step), len(lat) - 1))
    return list(zip(lat[keep].tolist(), lon[keep].tolist(), strict=True))


def _haversine_m(lat: np.ndarray, lon: np.ndarray) -> float:
    if len(lat) < 2:
        return 0.0
    phi, lam = np.radians(lat), np.radians(lon)
    a = (
        np.sin(np.diff(phi) / 2) ** 2
        + np.cos(phi[:-1]) * np.cos(phi[1:]) * np.sin(np.diff(lam) / 2) ** 2
    )
    return float(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1))).sum())


def timeline(times: np.ndarray, start_ns: int, end_ns: int, bins: int = TIMELINE_BINS) -> list[int]:
    """Messages per bin over the bag's span: the report draws rates and gaps from it."""
    if end_ns <= start_ns or len(times) == 0:
        return [len(times)] + [0] * (bins - 1)
    counts, _ = np.histogram(times, bins=bins, range=(start_ns, end_ns + 1))
    return [int(c) for c in counts]


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
