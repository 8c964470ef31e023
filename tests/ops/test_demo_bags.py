"""`make demo`'s bags: each is in tests/data/bags with its provenance, and the camera bag (the
one the demo has for the headline feature) gives camera frames anyone can open."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from PIL import Image
from rosbags.highlevel import AnyReader

from offline import REPO_ROOT

BAGS = REPO_ROOT / "tests" / "data" / "bags"
CAMERA_BAG = BAGS / "camera-drive.bag"
SCRIPT = REPO_ROOT / "scripts" / "make_camera_bag.py"


def demo_bags() -> list[str]:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^DEMO_BAGS := ((?:.*\\\n)*.*)$", makefile, re.M)
    assert match, "Makefile: DEMO_BAGS"
    return match[1].replace("\\\n", " ").split()


def provenance_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in (BAGS / "PROVENANCE.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) > 6 and cells[1].startswith("`"):
            rows[cells[1].strip("`")] = line
    return rows


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_camera_bag", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read(bag: Path) -> dict[str, list[tuple[int, Any]]]:
    found: dict[str, list[tuple[int, Any]]] = {}
    with AnyReader([bag]) as reader:
        for connection, timestamp, raw in reader.messages():
            message = reader.deserialize(raw, connection.msgtype)
            found.setdefault(connection.topic, []).append((timestamp, message))
    return found


@pytest.mark.parametrize("bag", demo_bags())
def test_every_demo_bag_is_here_with_its_provenance_and_license(bag: str) -> None:
    row = provenance_rows().get(bag)
    assert row, f"{bag}: no row in tests/data/bags/PROVENANCE.md"
    assert (BAGS / bag).exists()
    license_file = re.search(r"licenses/([\w.-]+)", row)
    assert license_file and (BAGS / "licenses" / license_file[1]).is_file()
    if (BAGS / bag).is_file():
        digest = hashlib.sha256((BAGS / bag).read_bytes()).hexdigest()
        assert f"`{digest}`" in row


def test_the_demo_has_a_camera_bag() -> None:
    assert CAMERA_BAG.name in demo_bags()


def test_the_camera_bag_is_what_its_script_writes(tmp_path: Path) -> None:
    """Same topics, times and messages; JPEG frames compared by their pixels, since another
    Pillow/libjpeg may encode the same picture to other bytes."""
    counts = script().write(tmp_path / "again.bag")
    committed, again = read(CAMERA_BAG), read(tmp_path / "again.bag")
    assert {topic: len(found) for topic, found in committed.items()} == counts
    for topic, messages in committed.items():
        assert [t for t, _ in messages] == [t for t, _ in again[topic]]
        for (_, old), (_, new) in zip(messages, again[topic], strict=True):
            if topic.endswith("/compressed"):
                difference = np.abs(pixels(old.data).astype(int) - pixels(new.data).astype(int))
                assert difference.mean() < 2, topic
            else:
                assert repr(old) == repr(new), topic


def pixels(jpeg: np.ndarray) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg.tobytes())).convert("RGB"))


@pytest.mark.slow
def test_extracting_the_camera_bag_gives_frames_that_open(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "processor", "extract", str(CAMERA_BAG), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "camera-drive"
    jpegs = sorted((folder / "camera.image_raw.compressed.files").glob("*.jpg"))
    pngs = sorted((folder / "camera.image_raw.files").glob("*.png"))
    assert (len(jpegs), len(pngs)) == (30, 6)
    for path, size in [(jpegs[0], (320, 240)), (jpegs[-1], (320, 240)), (pngs[0], (80, 60))]:
        with Image.open(path) as image:
            image.load()  # decodes every byte: a truncated file fails here
            assert image.size == size
    table = (folder / "camera.image_raw.compressed.csv").read_text(encoding="utf-8")
    assert f"camera.image_raw.compressed.files/{jpegs[0].name}" in table
