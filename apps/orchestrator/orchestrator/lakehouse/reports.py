"""Static reports: `report.html` per bag and `index.html` over the catalog.

Self-contained files (inline SVG and CSS, the first camera frame as a data: URL) that open
from disk or blob storage: nothing to serve, nothing fetched. Every name shown comes from a
bag (topics, types, paths) and is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from orchestrator.lakehouse.catalog import BagEntry
from orchestrator.lakehouse.rows import read_columns
from orchestrator.lakehouse.stats import CAMERA_TYPES, GpsTrack, TopicStats, timeline

MAX_THUMBNAIL_BYTES = 2 << 20
GAP_FACTOR = 5.0  # a gap: over 5 median intervals (and 1 s), as a dropout, not jitter
MIN_GAP_S = 1.0
_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.failed{color:#b00}.gap{fill:#e33;opacity:.35}.bar{fill:#3a7}svg{background:#fafafa}"""
_IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png"}


def report_name(bag_id: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_-]", "_", bag_id)[:80]
    return f"{stem}-{hashlib.sha256(bag_id.encode()).hexdigest()[:8]}.html"


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{_STYLE}</style></head><body>{body}</body></html>\n"
    )


def _gaps(times: np.ndarray) -> list[tuple[int, int]]:
    if len(times) < 3:
        return []
    diffs = np.diff(times)
    threshold = max(GAP_FACTOR * float(np.median(diffs)), MIN_GAP_S * 1e9)
    return [(int(times[i]), int(times[i + 1])) for i in np.nonzero(diffs > threshold)[0]]


def _timeline_svg(topics: list[TopicStats], start: int, end: int) -> str:
    width, row, label = 720, 28, 260
    span = max(end - start, 1)
    parts = [f'<svg width="{width + label}" height="{row * len(topics) + 10}" role="img">']
    for i, topic in enumerate(topics):
        y = i * row + 5
        parts.append(f'<text x="0" y="{y + 17}" font-size="12">{escape(topic.topic)}</text>')
        counts = timeline(topic.times, start, end)
        peak = max(counts) or 1
        step = width / len(counts)
        for j, count in enumerate(counts):
            h = (row - 6) * count / peak
            parts.append(
                f'<rect class="bar" x="{label + j * step:.1f}" y="{y + row - 6 - h:.1f}" '
                f'width="{step:.1f}" height="{h:.1f}"/>'
            )
        for first, last in _gaps(topic.times):
            x = label + width * (first - start) / span
            w = max(width * (last - first) / span, 1)
            parts.append(
                f'<rect class="gap" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row - 6}">'
                f"<title>gap {(last - first) / 1e9:.2f} s</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _gps_svg(gps: GpsTrack) -> str:
    size = 360
    lat_span = max(gps.max_lat - gps.min_lat, 1e-9)
    lon_span = max(gps.max_lon - gps.min_lon, 1e-9)
    points = " ".join(
        f"{10 + (size - 20) * (lon - gps.min_lon) / lon_span:.1f},"
        f"{size - 10 - (size - 20) * (lat - gps.min_lat) / lat_span:.1f}"
        for lat, lon in gps.points
    )
    return (
        f'<svg width="{size}" height="{size}" role="img"><polyline points="{points}" '
        'fill="none" stroke="#36c" stroke-width="2"/></svg>'
        f"<p>{gps.length_m:.0f} m; lat {gps.min_lat:.6f}..{gps.max_lat:.6f}, "
        f"lon {gps.min_lon:.6f}..{gps.max_lon:.6f}</p>"
    )


def _thumbnail(entry: BagEntry) -> str:
    """The first camera frame as a data: URL (its side file, which the `data` column names)."""
    for table in entry.output.tables:
        if table.msgtype not in CAMERA_TYPES:
            continue
        data_column = read_columns(table, ["data"]).column("data")
        first = data_column.slice(0, 1)
        name = first[0].as_py() if len(first) else None
        if not isinstance(name, str) or not name or ".." in Path(name).parts:
            continue
        frame = entry.output.result_dir / name
        if not frame.is_file():
            continue
        data = frame.read_bytes()
        kind = next((t for sig, t in _IMAGE_TYPES.items() if data.startswith(sig)), None)
        if kind and len(data) <= MAX_THUMBNAIL_BYTES:
            url = f"data:{kind};base64,{base64.b64encode(data).decode()}"
            heading = f"<h2>First camera frame: {escape(table.topic)}</h2>"
            return f'{heading}<img alt="first frame" src="{url}" width="320">'
    return ""


def bag_report(entry: BagEntry) -> str:
    out, info = entry.output, entry.output.info
    title = f"Bag {out.bag_path}"
    status = f"<p>Status: <b>{escape(entry.status)}</b> {escape(entry.reason)}</p>"
    body = [f"<h1>{escape(title)}</h1>{status}"]
    body.append('<p><a href="../index.html">Fleet index</a></p>')
    start, end = info.get("start_ns"), info.get("end_ns")
    if entry.topics and isinstance(start, int) and isinstance(end, int):
        body.append("<h2>Message rates per topic (gaps in red)</h2>")
        body.append(_timeline_svg(entry.topics, start, end))
        heads = ("topic", "type", "messages", "rate (Hz)", "largest gap (s)")
        body.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in heads) + "</tr>")
        for t in entry.topics:
            rate = f"{t.rate_hz:.2f}" if t.rate_hz else ""
            gap = f"{t.largest_gap_s:.3f}" if t.largest_gap_s else ""
            body.append(
                f"<tr><td>{escape(t.topic)}</td><td>{escape(t.msgtype)}</td><td>{t.messages}</td><td>{rate}</td><td>{gap}</td></tr>"
            )
        body.append("</table>")
    if entry.gps:
        body.append("<h2>GPS track</h2>" + _gps_svg(entry.gps))
    body.append(_thumbnail(entry))
    return _page(title, "".join(body))


def index_page(bags: list[dict[str, Any]]) -> str:
    """The fleet: one row per bag of the catalog's `bags` table."""
    rows = []
    for bag in sorted(bags, key=lambda b: str(b["bag_id"])):
        failed = bag["status"] not in ("succeeded", "partial", "unchanged")
        cls = ' class="failed"' if failed else ""
        link = f'<a href="bags/{report_name(str(bag["bag_id"]))}">{escape(str(bag["path"]))}</a>'
        cells = [
            link,
            escape(str(bag["status"])),
            str(len(bag["topics"] or [])),
            str(bag["messages"] if bag["messages"] is not None else ""),
            escape(str(bag["reason"] or "")),
        ]
        rows.append(f"<tr{cls}><td>" + "</td><td>".join(cells) + "</td></tr>")
    head = "<tr><th>bag</th><th>status</th><th>topics</th><th>messages</th><th>reason</th></tr>"
    table = f"<table>{head}{''.join(rows)}</table>"
    return _page("Fleet", f"<h1>Fleet: {len(bags)} bags</h1>{table}")


def write_reports(root: Path, entries: list[BagEntry], catalog: list[dict[str, Any]]) -> str:
    """This run's bag reports and the fleet index over the whole catalog, under `root`."""
    (root / "bags").mkdir(parents=True, exist_ok=True)
    for entry in entries:
        (root / "bags" / report_name(entry.output.bag_id)).write_text(
            bag_report(entry), encoding="utf-8"
        )
    index = root / "index.html"
    index.write_text(index_page(catalog), encoding="utf-8")
    return str(index)
