"""Fuzzing, bounded in time: random topic and field names, random types and values, cut
messages, and mutated bytes of the real test bags. Whatever the input, the processor never
writes outside OUTDIR/<bag>, never exits 1, and never claims complete with a message
missing (tests.processor.helpers.extract_hostile checks every run).

FUZZ_SECONDS (default 8 per test) and FUZZ_SEED (default 0, so `make test` repeats itself)
explore further: `FUZZ_SECONDS=600 FUZZ_SEED=$RANDOM pytest tests/processor/test_fuzz.py`.
"""

from __future__ import annotations

import keyword
import os
import random
import shutil
import string
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rosbags.rosbag1 import Writer as Writer1
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from tests.processor.helpers import BAGS, extract_hostile

SECONDS = float(os.environ.get("FUZZ_SECONDS", "8"))
SEED = int(os.environ.get("FUZZ_SEED", "0"))
BASES = ["bool", "int8", "uint8", "int16", "uint32", "int64", "float32", "float64", "string"]
ODD = ["/", ".", "..", "%", "~", " ", "\t", "ü", "🚗", "\\", ":", "*", "?", '"', "-", "_SUCCESS"]


def _cases(name: str) -> Iterator[tuple[int, random.Random]]:
    """(case number, its generator) until the time is up; the seed is in every failure."""
    deadline = time.monotonic() + SECONDS
    case = 0
    while time.monotonic() < deadline or case < 3:
        yield case, random.Random(f"{name}/{SEED}/{case}")
        case += 1


def _topic(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.2:
        return "/" + "/".join(rng.choice(["a", "..", ".", "cam", "info", "json"]) for _ in range(3))
    if kind < 0.3:
        return "/" + "x" * rng.randint(200, 400)
    parts = [
        "".join(rng.choice([*string.ascii_letters, *ODD]) for _ in range(rng.randint(1, 12)))
        for _ in range(rng.randint(1, 4))
    ]
    return "/" + "/".join(parts)


def _field_name(rng: random.Random, taken: set[str]) -> str:
    choice = rng.random()
    if choice < 0.15:
        name = rng.choice(["log_time_ns", "log_time", "log_time_ns__2", "data", "header"])
    elif choice < 0.25:
        name = rng.choice(sorted(set(keyword.kwlist) - {"False", "None", "True"}))
    elif choice < 0.3:
        name = "f" * rng.randint(100, 250)
    else:
        first = rng.choice(string.ascii_letters)
        rest = "".join(rng.choice(string.ascii_letters + string.digits + "_") for _ in range(8))
        name = first + rest[: rng.randint(0, 8)]
    return name if name not in taken else _field_name(rng, taken)


def _definition(rng: random.Random, depth: int = 0) -> tuple[str, dict[str, str]]:
    """A random .msg text, and the nested types it needs (name -> text)."""
    lines, nested, taken = [], {}, set()
    for _ in range(rng.randint(1, 6)):
        name = _field_name(rng, taken)
        taken.add(name)
        kind = rng.random()
        if kind < 0.15 and depth < 2:
            inner_name = f"fuzz_msgs/msg/Inner{depth}x{len(nested)}{rng.randint(0, 999)}"
            text, more = _definition(rng, depth + 1)
            nested.update(more)
            nested[inner_name] = text
            base = inner_name.replace("/msg/", "/")
        else:
            base = rng.choice(BASES)
        shape = rng.random()
        longest = 70 if depth == 0 else 3  # nested arrays multiply: keep messages small
        suffix = "" if shape < 0.6 else ("[]" if shape < 0.8 else f"[{rng.randint(0, longest)}]")
        if name == "data" and rng.random() < 0.5:
            base, suffix = "uint8", "[]"  # a payload: becomes a side file
        lines.append(f"{base}{suffix} {name}")
    return "\n".join(lines) + "\n", nested


def _value(rng: random.Random, store: Any, desc: tuple[Any, Any]) -> Any:
    kind, detail = desc
    if kind == 1:  # base
        base = detail[0]
        if base == "string":
            return "".join(rng.choice(["a", "ü", ",", '"', "\n", "NaN"]) for _ in range(3))
        if base == "bool":
            return rng.random() < 0.5
        if base.startswith("float"):
            large = 1e300 if base == "float64" else 3e38
            return rng.choice([0.0, -0.0, 2.0, 0.1, float("nan"), float("inf"), large, 3.5])
        info = np.iinfo(base)
        return rng.randint(int(info.min), int(info.max))
    if kind == 2:  # nested message
        cls = store.types[detail]
        fields = store.fielddefs[detail][1]
        attrs = [attr for attr, _ in store.get_msgdef(detail).fields]
        return cls(**{a: _value(rng, store, d) for a, (_, d) in zip(attrs, fields, strict=True)})
    element, length = detail
    count = length if kind == 3 else rng.randint(0, 4)
    items = [_value(rng, store, element) for _ in range(count)]
    if element[0] == 1 and element[1][0] != "string":
        return np.array(items, dtype="bool" if element[1][0] == "bool" else element[1][0])
    return items


def _random_bag(rng: random.Random, path: Path) -> int:
    store = get_typestore(Stores.ROS1_NOETIC)
    topics = {}
    for index in range(rng.randint(1, 4)):
        text, nested = _definition(rng)
        msgtype = f"fuzz_msgs/msg/T{index}"
        for name, inner in nested.items():
            store.register(get_types_from_msg(inner, name))
        store.register(get_types_from_msg(text, msgtype))
        topics[_topic(rng)] = msgtype
    count = 0
    with Writer1(path) as writer:
        connections = {}
        for topic, msgtype in topics.items():
            try:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=store)
            except Exception:  # a name rosbags' writer itself refuses
                continue
        for log_time in range(rng.randint(1, 30)):
            for topic, connection in connections.items():
                msgtype = topics[topic]
                fields = store.fielddefs[msgtype][1]
                attrs = [attr for attr, _ in store.get_msgdef(msgtype).fields]
                values = {a: _value(rng, store, d) for a, (_, d) in zip(attrs, fields, strict=True)}
                raw = store.serialize_ros1(store.types[msgtype](**values), msgtype)
                if rng.random() < 0.05:
                    raw = raw[: rng.randint(0, len(raw))]  # cut short: a bad message
                writer.write(connection, 1_000 + log_time, raw)
                count += 1
    return count


def test_random_names_types_and_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for case, rng in _cases("random"):
        root = tmp_path / str(case)
        (root / "in").mkdir(parents=True)
        bag = root / "in" / "fuzz.bag"
        count = _random_bag(rng, bag)
        fmt = rng.choice(["csv", "parquet"])
        columns = rng.choice([[], ["--column-names", "underscore"]]) if case % 2 else []
        try:
            extract_hostile(
                capsys, bag, root, expected_messages=count, args=["--format", fmt, *columns]
            )
        except AssertionError as err:
            raise AssertionError(f"FUZZ_SEED={SEED} case {case}: {err}") from err
        shutil.rmtree(root)


MUTABLE = [
    "turtlesim.bag",
    "jackal-imu-odom.bag",
    "gps-navsatfix.bag",
    "custom-arrays.bag",
    "ros2-mcap-basic/base_msgs_0.mcap",
    "ros2-sqlite3-custom/cdr_test_0.db3",
]


def _mutate(rng: random.Random, data: bytearray) -> bytearray:
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        # Headers and indexes sit at either end of a bag: aim there half the time.
        if rng.random() < 0.5:
            offset = rng.choice(
                [
                    rng.randrange(min(4096, len(data))),
                    len(data) - 1 - rng.randrange(min(4096, len(data))),
                ]
            )
        else:
            offset = rng.randrange(len(data))
        if choice < 0.6:
            data[offset] ^= 1 << rng.randrange(8)
        elif choice < 0.85:
            data[offset : offset + 8] = rng.randbytes(8)
        else:
            del data[offset:]
            if not data:
                data.extend(b"\x00")
    return data


def test_mutated_real_bags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    originals = {name: (BAGS / name).read_bytes() for name in MUTABLE}
    for case, rng in _cases("mutated"):
        name = rng.choice(MUTABLE)
        root = tmp_path / str(case)
        (root / "in").mkdir(parents=True)
        bag = root / "in" / Path(name).name
        bag.write_bytes(_mutate(rng, bytearray(originals[name])))
        try:
            extract_hostile(capsys, bag, root, expected_messages=None, statuses=(0, 2, 3))
        except AssertionError as err:
            raise AssertionError(f"FUZZ_SEED={SEED} case {case} ({name}): {err}") from err
        shutil.rmtree(root)
