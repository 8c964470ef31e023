"""Report pages: gaps are drawn, names from bags are escaped, the index lists failures."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from orchestrator.lakehouse.catalog import BagEntry
from orchestrator.lakehouse.outputs import BagOutput
from orchestrator.lakehouse.reports import bag_report, index_page, report_name
from orchestrator.lakehouse.stats import gps_track, topic_stats

HOSTILE = "/<script>alert(1)</script>"


def _entry(times: np.ndarray, topic: str = "/imu") -> BagEntry:
    info = {"start_ns": int(times[0]), "end_ns": int(times[-1])}
    output = BagOutput("raw/a.bag", "raw/a.bag", Path("/nowhere"), info=info)
    return BagEntry(output, "succeeded", topics=[topic_stats(topic, "x/msg/Y", "x__y", times)])


def test_a_dropout_is_highlighted_and_steady_rates_are_not() -> None:
    steady = np.arange(0, 10 * 10**9, 10**8, dtype=np.int64)
    assert 'class="gap"' not in bag_report(_entry(steady))
    dropout = np.concatenate([steady, steady[-1] + 3 * 10**9 + steady])
    page = bag_report(_entry(dropout))
    assert page.count('class="gap"') == 1 and "gap 3.00 s" in page
    assert _entry(dropout).topics[0].largest_gap_s == 3.0


def test_names_from_the_bag_are_escaped() -> None:
    page = bag_report(_entry(np.arange(5, dtype=np.int64), HOSTILE))
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_the_index_lists_failed_bags_with_their_reason() -> None:
    bags = [
        {
            "bag_id": "raw/b.bag",
            "path": "raw/b.bag",
            "status": "failed",
            "topics": [],
            "messages": None,
            "reason": "not a readable bag",
        },
        {
            "bag_id": HOSTILE,
            "path": HOSTILE,
            "status": "succeeded",
            "topics": [{}],
            "messages": 3,
            "reason": "",
        },
    ]
    page = index_page(bags)
    assert '<tr class="failed"><td><a href="bags/raw_b_bag-' in page
    assert "not a readable bag" in page and "<script>" not in page
    assert report_name(HOSTILE).replace("-", "").replace("_", "").replace(".", "").isalnum()


def test_gps_track_leaves_out_fixes_without_a_fix() -> None:
    import pyarrow as pa

    data = pa.table(
        {
            "latitude": [48.0, 48.001, float("nan"), 10.0],
            "longitude": [11.0, 11.0, 11.0, 10.0],
            "status.status": pa.array([0, 0, 0, -1], pa.int8()),
        }
    )
    track = gps_track(data)
    assert track is not None
    assert (track.min_lat, track.max_lat) == (48.0, 48.001)
    assert 110 < track.length_m < 112  # 0.001 degree of latitude
