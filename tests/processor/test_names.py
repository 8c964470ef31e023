"""File names from topic and field names (processor.names): reversible, bounded, never a
path outside the folder, and never one of the output's own files."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from processor.names import (
    MAX_STEM,
    UnsafePathError,
    check_component,
    escape_topic,
    field_key,
    side_folder,
    topic_stem,
    video_folder,
)
from processor.output import within

ODD_TOPICS = [
    "/",
    "//",
    "///",
    "/.",
    "/..",
    "/../..",
    "/a//b",
    "/a/",
    "//a",
    "/a.b",
    "/a/b",
    "/a%2Eb",
    "/a~2",
    "/a b",
    "/ü/ß",
    "/nul\0byte",
    "/_SUCCESS",
    "rel",  # ROS 1 bags can hold topics without a leading slash, beside `/rel`
    "/rel",
    "rel/a",
    "~rel",
    "_SUCCESS",
    "/info/json",
    "/cam/csv",
    "/-rf",
    "/\udcff",  # a lone surrogate, as a non-UTF-8 byte decoded with surrogateescape would be
]


def _decode(stem: str) -> str:
    """The topic a stem was made from, written from the documented rules (docs/processor.md)."""
    if stem.startswith("~"):  # a topic stored without a leading slash
        return unquote(stem[1:].replace(".", "/"), errors="surrogatepass")
    text = unquote(stem.replace(".", "/"), errors="surrogatepass")
    return text if text.startswith("/") else f"/{text}"


@pytest.mark.parametrize(
    ("topic", "stem"),
    [
        ("/camera/image_raw", "camera.image_raw"),
        ("/imu/data", "imu.data"),
        ("imu", "~imu"),
        ("a/b", "~a.b"),
        ("", "~"),
        ("/", "%2F"),
        ("//", "%2F%2F"),
        ("/..", "%2E%2E"),
        ("/a//b", "a%2F%2Fb"),
        ("/a/", "a%2F"),
        ("/cam.image", "cam%2Eimage"),
        ("/ü", "%C3%BC"),
    ],
)
def test_stems(topic: str, stem: str) -> None:
    assert topic_stem(topic) == stem


def test_stems_decode_back_to_their_topic_so_no_two_topics_share_one() -> None:
    stems = {topic: escape_topic(topic) for topic in ODD_TOPICS}
    for topic, stem in stems.items():
        assert _decode(stem) == topic, topic
        assert re.fullmatch(r"~?[A-Za-z0-9_%-]+(\.[A-Za-z0-9_%-]+)*", stem), stem
    assert len(set(stems.values())) == len(stems)


def test_names_never_equal_the_outputs_own_files_or_each_other() -> None:
    own = {"info.json", "info.txt", "manifest.json", "_SUCCESS", "tf"}  # tf/: transforms, tree
    names: list[str] = []
    for topic in [*ODD_TOPICS, "/tf", "tf", "/tf/", "/transforms"]:
        for table in (1, 2):
            stem = topic_stem(topic, table)
            names += [f"{stem}.csv", f"{stem}.parquet", side_folder(stem), video_folder(stem)]
    assert not own & set(names)
    assert len(set(names)) == len(names)
    for name in names:
        assert check_component(name) == name and not name.startswith(".")


def test_long_names_are_bounded_and_stable() -> None:
    long_a, long_b = "/" + "a" * 300, "/" + "a" * 299 + "b"
    stems = [topic_stem(long_a), topic_stem(long_b), topic_stem(long_a, 2)]
    assert len(set(stems)) == 3
    assert all(len(stem) == MAX_STEM and stem.startswith("a" * 150) for stem in stems)
    assert topic_stem(long_a) == stems[0]  # the same topic, the same name
    escaped = topic_stem("/" + "ü" * 150)
    assert len(escaped) <= MAX_STEM and re.fullmatch(r"(%C3%BC)+~[0-9a-f]{16}", escaped)
    assert len(field_key("a" * 400)) <= MAX_STEM


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "/abs", "nul\0", "x" * 256])
def test_unsafe_components_are_refused(name: str) -> None:
    with pytest.raises(UnsafePathError):
        check_component(name)


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "a//b", "./x", ""])
def test_every_output_path_is_checked_to_stay_inside(relative: str, tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError):
        within(tmp_path, relative)
    assert within(tmp_path, "cam.files/1.jpg") == tmp_path / "cam.files" / "1.jpg"
