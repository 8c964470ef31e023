"""Findings of the independent hostile-bag review (issue 16): sharding with bad messages in one
slice only, a full disk, topics with and without a leading slash, renamed columns."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from processor import run
from tests.processor.helpers import files_under, manifest, read_csv, read_table, run_cli

NOETIC = get_typestore(Stores.ROS1_NOETIC)
STRING, INT32 = "std_msgs/msg/String", "std_msgs/msg/Int32"


def _half_bad_bag(path: Path, *, bad_first: bool) -> Path:
    """/t: 10 strings, one half of them (by log time) cut short; /u: 10 healthy Int32."""
    with Writer1(path) as writer:
        t = writer.add_connection("/t", STRING, typestore=NOETIC)
        u = writer.add_connection("/u", INT32, typestore=NOETIC)
        for j in range(10):
            raw = NOETIC.serialize_ros1(NOETIC.types[STRING](data=f"msg-{j}"), STRING)
            if (j < 5) == bad_first:
                raw = raw[:3]
            log_time = 10**9 + j * 10**8
            writer.write(t, log_time, raw)
            writer.write(u, log_time, NOETIC.serialize_ros1(NOETIC.types[INT32](data=j), INT32))
    return path


def _contents(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in files_under(folder)
        if p.name != "manifest.json"
    }


@pytest.mark.parametrize("bad_first", [True, False], ids=["bad-first-half", "bad-second-half"])
def test_merge_keeps_good_rows_when_one_shard_saw_only_bad_messages(
    bad_first: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = _half_bad_bag(tmp_path / "halfbad.bag", bad_first=bad_first)
    assert run_cli(capsys, "extract", bag, tmp_path / "whole")[0] == 3
    for index in (1, 2):
        assert run_cli(capsys, "extract", bag, tmp_path / "sh", "--shard", f"{index}/2")[0] in (
            0,
            3,
        )
    assert run_cli(capsys, "merge", bag, tmp_path / "sh", "--shards", "2")[0] == 3
    whole, merged = manifest(tmp_path / "whole" / "halfbad"), manifest(tmp_path / "sh" / "halfbad")
    assert merged.pop("shards") == 2
    assert merged == whole
    topics = {t["topic"]: t for t in whole["topics"]}
    assert (topics["/t"]["messages"], topics["/t"]["bad_messages"]) == (5, 5)
    assert whole["skipped"] == []
    assert _contents(tmp_path / "sh" / "halfbad") == _contents(tmp_path / "whole" / "halfbad")


def test_merge_skips_a_topic_no_shard_could_decode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "allbad.bag"
    with Writer1(bag) as writer:
        t = writer.add_connection("/t", STRING, typestore=NOETIC)
        for j in range(6):
            writer.write(t, 10**9 + j * 10**8, b"\x01")
    assert run_cli(capsys, "extract", bag, tmp_path / "whole")[0] == 3
    for index in (1, 2):
        run_cli(capsys, "extract", bag, tmp_path / "sh", "--shard", f"{index}/2")
    assert run_cli(capsys, "merge", bag, tmp_path / "sh", "--shards", "2")[0] == 3
    whole, merged = manifest(tmp_path / "whole" / "allbad"), manifest(tmp_path / "sh" / "allbad")
    merged.pop("shards")
    assert merged == whole
    assert [(s["topic"], s["messages"]) for s in whole["skipped"]] == [("/t", 6)]
    assert _contents(tmp_path / "sh" / "allbad") == _contents(tmp_path / "whole" / "allbad")


@pytest.mark.parametrize(
    ("code", "what"),
    [
        (errno.ENOSPC, "no space left"),
        (errno.EDQUOT, "disk quota exceeded"),
        (errno.EFBIG, "file too large"),  # a file-size limit (ulimit -f): second hostile review
        (errno.EROFS, "read-only file system"),
    ],
)
def test_a_full_disk_is_one_line_and_exit_2(
    code: int,
    what: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bag = _half_bad_bag(tmp_path / "halfbad.bag", bad_first=False)
    outdir = tmp_path / "out"

    def full(*_: Any, **__: Any) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(run, "write_json", full)  # info.json: written after every table
    status, _, err = run_cli(capsys, "extract", bag, outdir)
    assert status == 2
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert str(outdir) in lines[0] and what in lines[0].lower()
    assert list(outdir.iterdir()) == []  # the staging folder is gone, nothing marked complete


def test_a_real_full_tmpfs_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {mounted.stderr.decode().strip()}")
    try:
        bag = small.parent / "big.bag"
        with Writer1(bag) as writer:
            t = writer.add_connection("/t", STRING, typestore=NOETIC)
            for j in range(2000):
                text = NOETIC.types[STRING](data=f"{j:08d}" * 16)
                writer.write(t, 10**9 + j, NOETIC.serialize_ros1(text, STRING))
        status, _, err = run_cli(capsys, "extract", bag, small / "out")
        assert status == 2, err
        lines = [line for line in err.splitlines() if "error" in line]
        assert len(lines) == 1 and "Traceback" not in err, err
        assert str(small / "out") in err and "no space left" in err.lower()
        assert list((small / "out").iterdir()) == []
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_topics_with_and_without_a_leading_slash_keep_their_own_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bag = tmp_path / "slash.bag"
    with Writer1(bag) as writer:
        rel = writer.add_connection("rel", STRING, typestore=NOETIC)
        absolute = writer.add_connection("/rel", STRING, typestore=NOETIC)
        rel_int = writer.add_connection("rel", INT32, typestore=NOETIC)
        for j in range(3):
            text = NOETIC.types[STRING]
            writer.write(rel, 10**9 + j, NOETIC.serialize_ros1(text(data=f"no-{j}"), STRING))
            writer.write(absolute, 10**9 + j, NOETIC.serialize_ros1(text(data=f"sl-{j}"), STRING))
            value = NOETIC.types[INT32](data=j)
            writer.write(rel_int, 10**9 + j, NOETIC.serialize_ros1(value, INT32))
    assert run_cli(capsys, "extract", bag, tmp_path / "out")[0] == 0
    document = manifest(tmp_path / "out" / "slash")
    tables = {(t["topic"], t["msgtype"]): (t["name"], t["messages"]) for t in document["topics"]}
    assert tables == {
        ("/rel", STRING): ("rel", 3),
        ("rel", INT32): ("~rel", 3),
        ("rel", STRING): ("~rel~2", 3),
    }
    rows = read_csv(tmp_path / "out" / "slash" / "~rel~2.csv")
    assert [row["data"] for row in rows] == ["no-0", "no-1", "no-2"]
    rows = read_csv(tmp_path / "out" / "slash" / "rel.csv")
    assert [row["data"] for row in rows] == ["sl-0", "sl-1", "sl-2"]
    assert run_cli(capsys, "extract", bag, tmp_path / "only", "--topics", "rel")[0] == 0
    selected = manifest(tmp_path / "only" / "slash")["topics"]
    assert sorted(t["topic"] for t in selected) == ["/rel", "rel", "rel"]  # given either way


COLS_TYPES = {
    "hc/msg/C": "float64[2] a\nfloat64 a_0\nint32 log_time_ns\nint32 log_time_ns__2\n"
    "int32 p_q\nP p\n",
    "hc/msg/P": "int32 q\n",
}


@pytest.mark.parametrize("style", ["dotted", "underscore"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_renamed_columns_are_recorded_and_never_take_a_fields_name(
    style: str, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = get_typestore(Stores.ROS1_NOETIC)
    for msgtype, text in COLS_TYPES.items():
        store.register(get_types_from_msg(text, msgtype))
    message = store.types["hc/msg/C"](
        a=np.array([1.0, 2.0]),
        a_0=3.0,
        log_time_ns=4,
        log_time_ns__2=5,
        p_q=6,
        p=store.types["hc/msg/P"](q=7),
    )
    bag = tmp_path / "cols.bag"
    with Writer1(bag) as writer:
        connection = writer.add_connection("/c", "hc/msg/C", typestore=store)
        writer.write(connection, 10**9, store.serialize_ros1(message, "hc/msg/C"))
    args = ["--format", fmt, "--column-names", style]
    assert run_cli(capsys, "extract", bag, tmp_path / "out", *args)[0] == 0
    folder = tmp_path / "out" / "cols"
    (entry,) = manifest(folder)["topics"]
    mapping: dict[str, str] = entry["columns"]
    row = read_table(folder / f"c.{fmt}").drop_columns(["log_time"]).to_pylist()[0]
    values = {"a.0": 1.0, "a.1": 2.0, "a_0": 3.0, "log_time_ns": 4, "log_time_ns__2": 5}
    values |= {"p_q": 6, "p.q": 7}
    for column, value in row.items():
        if column == "log_time_ns":
            assert value == 10**9  # the processor's own column keeps its name
            continue
        path = mapping.get(str(column), str(column))
        assert float(value) == values.pop(path), column
    assert values == {}  # every field has a column
    for name, path in mapping.items():  # a column is renamed only for a reason
        assert (name != path and "." in path) or name == "log_time_ns~2", (name, path)
    for field in ("a_0", "log_time_ns__2", "p_q"):  # a field's own name is never taken
        assert field in row and mapping.get(field, field) == field
    assert mapping["log_time_ns~2"] == "log_time_ns"


BAGS_DIR = Path(__file__).parent.parent / "data" / "bags"


def test_an_unknown_topic_fails_unless_missing_topics_skip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One bag by hand: a mistyped topic is an error naming the bag's topics. The orchestrator
    passes `--missing-topics skip`: each bag of a fleet extracts the listed topics it has."""
    bag = BAGS_DIR / "turtlesim.bag"
    status, _, err = run_cli(capsys, "extract", bag, tmp_path / "a", "--topics", "/no/such")
    assert status == 2
    assert "topic(s) /no/such not in the bag (available: " in err and "/turtle1/pose" in err

    status, _, _ = run_cli(
        capsys,
        "extract",
        bag,
        tmp_path / "b",
        "--topics",
        "/no/such",
        "turtle1/pose",
        "--missing-topics",
        "skip",
    )
    assert status == 0
    document = manifest(tmp_path / "b" / "turtlesim")
    assert [entry["topic"] for entry in document["topics"]] == ["/turtle1/pose"]
    assert document["absent_topics"] == ["/no/such"]
    assert "/turtle1/pose" in document["bag_topics"]
    assert document["status"] == "complete"


def test_a_ros2_folder_missing_its_storage_file_names_it_plainly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Newcomer finding: `Some database files are missing: ['r2/cdr_test_0.db3']`."""
    folder = tmp_path / "r2"
    folder.mkdir()
    metadata = (BAGS_DIR / "ros2-sqlite3-custom" / "metadata.yaml").read_text(encoding="utf-8")
    (folder / "metadata.yaml").write_text(metadata, encoding="utf-8")
    status, _, err = run_cli(capsys, "extract", folder, tmp_path / "out")
    assert status == 2
    assert "[" not in err and "'" not in err
    assert "storage file(s) missing: cdr_test_0.db3" in err


def test_extract_help_describes_outdir(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli(capsys, "extract", "--help")
    help_text = capsys.readouterr().out
    outdir_line = next(line for line in help_text.splitlines() if line.strip().startswith("OUTDIR"))
    assert "<bag name>" in outdir_line
