"""/tf and /tf_static: the transforms table and the frame tree against a direct rosbags read."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from scripts.synthetic_bags import write_drive
from tests.processor.helpers import BAGS, direct_messages, manifest, run_cli

TF_TOPICS = {"/tf": False, "/tf_static": True}


def _read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    types = {"parent_frame": pa.string(), "child_frame": pa.string()}
    return pcsv.read_csv(
        path,
        parse_options=pcsv.ParseOptions(newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(column_types=types, strings_can_be_null=False),
    )


def _stamp(stamp: Any) -> int:
    return (stamp.sec & 0xFFFFFFFF) * 10**9 + stamp.nanosec


def _expected(bag: Path) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Every transform in log-time order, and the tree, computed here from AnyReader."""
    rows = []
    for topic, messages in direct_messages(bag).items():
        if topic not in TF_TOPICS:
            continue
        for log_time, message in messages:
            for t in message.transforms:
                tr, rot = t.transform.translation, t.transform.rotation
                rows.append(
                    (
                        log_time,
                        _stamp(t.header.stamp),
                        t.header.frame_id,
                        t.child_frame_id,
                        tr.x,
                        tr.y,
                        tr.z,
                        rot.x,
                        rot.y,
                        rot.z,
                        rot.w,
                        TF_TOPICS[topic],
                    )
                )
    rows.sort(key=lambda row: row[0])  # stable: a message's transforms keep their order
    edges: dict[tuple[str, str, bool], list[int]] = {}
    for row in rows:
        edges.setdefault((row[2], row[3], row[11]), []).append(row[0])
    parents: dict[str, set[str]] = {}
    for parent, child, _ in edges:
        parents.setdefault(child, set()).add(parent)
    frames = {name for key in edges for name in key[:2]}
    tree = {
        "transforms": len(rows),
        "frames": sorted(frames),
        "roots": sorted(frames - set(parents)),
        "edges": [
            {
                "parent": parent,
                "child": child,
                "static": static,
                "transforms": len(times),
                "rate_hz": None
                if static or max(times) == min(times)
                else (len(times) - 1) * 1e9 / (max(times) - min(times)),
                "first_ns": min(times),
                "last_ns": max(times),
            }
            for (parent, child, static), times in sorted(edges.items())
        ],
        "two_parents": {child: sorted(p) for child, p in parents.items() if len(p) > 1},
    }
    return rows, tree


def _check(folder: Path, bag: Path, fmt: str, separator: str = ".") -> dict[str, Any]:
    rows, expected = _expected(bag)
    table = _read(folder / "tf" / f"transforms.{fmt}")
    assert table.column_names == [
        "log_time_ns",
        "log_time",
        "header_stamp_ns",
        "parent_frame",
        "child_frame",
        *(f"translation{separator}{a}" for a in "xyz"),
        *(f"rotation{separator}{a}" for a in "xyzw"),
        "static",
    ]
    assert table.column("log_time").cast(pa.int64()) == table.column("log_time_ns")
    got = [tuple(row.values()) for row in table.drop(["log_time"]).to_pylist()]
    assert got == rows
    tree = json.loads((folder / "tf" / "tree.json").read_text(encoding="utf-8"))
    two_parents = expected.pop("two_parents")
    warnings = tree["warnings"]
    for edge, want in zip(tree["edges"], expected["edges"], strict=True):
        assert (edge["rate_hz"] is None) == (want["rate_hz"] is None)
        if want["rate_hz"] is not None:
            assert edge["rate_hz"] == pytest.approx(want["rate_hz"], rel=1e-12)
    rateless = [{**e, "rate_hz": None} for e in tree["edges"]]
    assert {**tree, "warnings": None, "edges": rateless} == {
        **expected,
        "warnings": None,
        "edges": [{**e, "rate_hz": None} for e in expected["edges"]],
    }
    assert {w["frame"]: w["parents"] for w in warnings if w["warning"] == "two parents"} == (
        two_parents
    )
    entry = manifest(folder)["tf"]
    assert entry == {
        "files": [f"tf/transforms.{fmt}", "tf/tree.json"],
        "transforms": len(rows),
        "frames": len(expected["frames"]),
        "edges": len(expected["edges"]),
        "warnings": len(warnings),
    }
    return {"tree": tree, "warnings": warnings}


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_turtlesim_tf_and_tf_static_match_rosbags(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "turtlesim.bag"  # /tf is ROS 1 tf/tfMessage, /tf_static tf2_msgs/TFMessage
    assert run_cli(capsys, "extract", bag, tmp_path, "--format", fmt)[0] == 0
    folder = tmp_path / "turtlesim"
    found = _check(folder, bag, fmt)
    assert found["tree"]["roots"] == ["world"]
    dynamic = [e for e in found["tree"]["edges"] if not e["static"]]
    assert {(e["parent"], e["child"]) for e in dynamic} == {
        ("world", "turtle1"),
        ("world", "turtle2"),
    }
    assert all(60 < e["rate_hz"] < 65 for e in dynamic)  # turtlesim's ~62.5 Hz broadcaster
    assert (folder / f"tf.{fmt}").is_file() and (folder / f"tf_static.{fmt}").is_file()


def test_column_names_follow_the_runs_style(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "turtlesim.bag"
    assert run_cli(capsys, "extract", bag, tmp_path, "--column-names", "underscore")[0] == 0
    _check(tmp_path / "turtlesim", bag, "csv", separator="_")


def test_no_tf_outputs_without_tf_topics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = BAGS / "turtlesim.bag"
    assert run_cli(capsys, "extract", bag, tmp_path, "--topics", "/turtle1/pose")[0] == 0
    assert not (tmp_path / "turtlesim" / "tf").exists()
    assert "tf" not in manifest(tmp_path / "turtlesim")


@pytest.mark.parametrize("kind", ["ros2-mcap", "ros2-sqlite3"])
def test_a_synthetic_drives_tf_matches_rosbags(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = write_drive(tmp_path / "drive", seconds=2, kind=kind, frame_size=(16, 12)).path
    assert run_cli(capsys, "extract", bag, tmp_path / "out", "--format", "parquet")[0] == 0
    found = _check(tmp_path / "out" / "drive", bag, "parquet")
    assert found["warnings"] == []


HOSTILE = ["../../etc/passwd", 'a "quoted"\nframe', "kamera/ü/\u2028", "/tf", ""]


def _tf_bag(path: Path) -> None:
    """A ROS 1 bag: /tf_static with two transforms, /tf from two publishers (callers) with
    their own frames, a frame with two parents, a cycle, a self-parent, hostile frame names."""
    store = get_typestore(Stores.ROS1_NOETIC)
    message_type = "tf2_msgs/msg/TFMessage"  # not in rosbags' Noetic store
    store.register(get_types_from_msg("geometry_msgs/TransformStamped[] transforms", message_type))
    types: dict[str, Any] = dict(store.types)
    time, header = types["builtin_interfaces/msg/Time"], types["std_msgs/msg/Header"]
    vector, quat = types["geometry_msgs/msg/Vector3"], types["geometry_msgs/msg/Quaternion"]
    stamped = types["geometry_msgs/msg/TransformStamped"]
    transform = types["geometry_msgs/msg/Transform"]

    def message(log: int, *edges: tuple[str, str]) -> memoryview:
        transforms = [
            stamped(
                header=header(
                    seq=index, stamp=time(sec=log // 10**9 - 1, nanosec=index), frame_id=parent
                ),
                child_frame_id=child,
                transform=transform(
                    translation=vector(x=index + 0.5, y=-1.25, z=log / 1e12),
                    rotation=quat(x=0.0, y=0.0, z=0.6, w=0.8),
                ),
            )
            for index, (parent, child) in enumerate(edges)
        ]
        return store.serialize_ros1(types[message_type](transforms=transforms), message_type)

    base = 1_700_000_000 * 10**9
    with Writer1(path) as writer:
        static = writer.add_connection(
            "/tf_static", message_type, typestore=store, callerid="/static", latching=1
        )
        one = writer.add_connection("/tf", message_type, typestore=store, callerid="/odometry")
        two = writer.add_connection("/tf", message_type, typestore=store, callerid="/localizer")
        writer.write(static, base, message(base, ("base_link", "lidar"), ("base_link", "camera")))
        for index in range(50):
            log = base + 1 + index * 20_000_000  # 50 Hz
            writer.write(one, log, message(log, ("odom", "base_link")))
            if index % 5 == 0:  # 10 Hz, another node: a second parent for base_link
                writer.write(two, log + 7, message(log + 7, ("map", "base_link"), ("a", "b")))
        writer.write(one, base + 2 * 10**9, message(base + 2 * 10**9, ("b", "a"), ("s", "s")))
        writer.write(one, base + 3 * 10**9, message(base + 3 * 10**9, *itertools.pairwise(HOSTILE)))


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_tf_with_two_publishers_two_parents_and_a_cycle(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "tfbag.bag"
    _tf_bag(bag)
    assert run_cli(capsys, "extract", bag, tmp_path / "out", "--format", fmt)[0] == 0
    folder = tmp_path / "out" / "tfbag"
    found = _check(folder, bag, fmt)
    warnings = found["warnings"]
    assert {"warning": "two parents", "frame": "base_link", "parents": ["map", "odom"]} in warnings
    cycles = [w["frames"] for w in warnings if w["warning"] == "cycle"]
    assert sorted(cycles) == [["a", "b"], ["s"]]
    edges = {(e["parent"], e["child"], e["static"]): e for e in found["tree"]["edges"]}
    assert edges[("odom", "base_link", False)]["rate_hz"] == pytest.approx(50, rel=1e-6)
    assert edges[("map", "base_link", False)]["rate_hz"] == pytest.approx(10, rel=1e-6)
    assert edges[("base_link", "lidar", True)]["rate_hz"] is None
    # Frame names are data: JSON-escaped in tree.json, never a file or folder name.
    assert set(HOSTILE) <= set(found["tree"]["frames"])
    text = (folder / "tf" / "tree.json").read_text(encoding="utf-8")
    assert '"a \\"quoted\\"\\nframe"' in text  # escaped, on one line
    names = {p.name for p in (tmp_path / "out").rglob("*")}
    assert not names & {"passwd", "etc", "kamera"}
    assert sorted(p.name for p in (folder / "tf").iterdir()) == ["transforms." + fmt, "tree.json"]


def test_sharded_tf_merges_to_the_unsharded_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "tfbag.bag"
    _tf_bag(bag)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert run_cli(capsys, "extract", bag, whole)[0] == 0
    for index in (1, 2, 3):
        assert run_cli(capsys, "extract", bag, parts, "--shard", f"{index}/3")[0] == 0
    assert run_cli(capsys, "merge", bag, parts, "--shards", "3")[0] == 0
    for name in ("transforms.csv", "tree.json"):
        assert (parts / "tfbag" / "tf" / name).read_bytes() == (
            whole / "tfbag" / "tf" / name
        ).read_bytes()
    assert manifest(parts / "tfbag")["tf"] == manifest(whole / "tfbag")["tf"]
