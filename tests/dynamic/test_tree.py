"""Content hashes and archives are functions of the files alone: not of where the tree is, when
its files were written, or which caches lie around in it."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

from infra.dynamic import _tree
from infra.dynamic._package import PackageSources
from infra.dynamic.processor_image import BuildContext
from tests.dynamic.helpers import copy_app


def _tree_at(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("X = 1\n")
    (root / "pkg" / "data.txt").write_text("payload\n")
    (root / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "run.sh").chmod(0o755)
    return root


def test_same_tree_elsewhere_and_later_hashes_and_archives_identically(tmp_path: Path) -> None:
    first = _tree_at(tmp_path / "a")
    second = tmp_path / "elsewhere" / "b"
    shutil.copytree(first, second)
    for path in second.rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
    (second / "pkg" / "data.txt").chmod(0o600)  # only the executable bit is meaningful

    a, b = _tree.list_files(first), _tree.list_files(second)
    assert _tree.content_hash(a) == _tree.content_hash(b)
    assert _tree.tar_gz(a) == _tree.tar_gz(b)
    _tree.write_zip(tmp_path / "a.zip", a)
    _tree.write_zip(tmp_path / "b.zip", b)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_caches_and_build_outputs_are_ignored(tmp_path: Path) -> None:
    root = _tree_at(tmp_path / "src")
    before = _tree.content_hash(_tree.list_files(root))
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (root / "thing.egg-info").mkdir()
    (root / "thing.egg-info" / "PKG-INFO").write_text("x")
    (root / "build").mkdir()
    (root / "build" / "out").write_text("x")
    (root / "stray.pyc").write_bytes(b"\0")
    assert _tree.content_hash(_tree.list_files(root)) == before


@pytest.mark.parametrize("change", ["content", "new file", "rename", "executable bit"])
def test_any_meaningful_change_changes_the_hash(tmp_path: Path, change: str) -> None:
    root = _tree_at(tmp_path / "src")
    before = _tree.content_hash(_tree.list_files(root))
    if change == "content":
        (root / "pkg" / "data.txt").write_text("payload!\n")
    elif change == "new file":
        (root / "pkg" / "empty.py").write_text("")
    elif change == "rename":
        (root / "pkg" / "data.txt").rename(root / "pkg" / "data2.txt")
    else:
        (root / "pkg" / "data.txt").chmod(0o755)
    assert _tree.content_hash(_tree.list_files(root)) != before


def test_archives_hold_sorted_entries_with_fixed_metadata(tmp_path: Path) -> None:
    files = _tree.list_files(_tree_at(tmp_path / "src"), "app/")
    with tarfile.open(fileobj=io.BytesIO(_tree.tar_gz(files)), mode="r:gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["app/pkg/__init__.py", "app/pkg/data.txt", "app/run.sh"]
    assert {(m.mtime, m.uid, m.gid) for m in members} == {(_tree.FIXED_MTIME, 0, 0)}
    assert [m.mode for m in members] == [0o644, 0o644, 0o755]

    _tree.write_zip(tmp_path / "x.zip", files)
    with zipfile.ZipFile(tmp_path / "x.zip") as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == [m.name for m in members]
    assert {i.date_time for i in infos} == {_tree.FIXED_DATE_TIME}
    assert [(i.external_attr >> 16) & 0o777 for i in infos] == [0o644, 0o644, 0o755]


def test_symbolic_links_are_refused_with_the_fix(tmp_path: Path) -> None:
    root = _tree_at(tmp_path / "src")
    (root / "link").symlink_to(root / "run.sh")
    with pytest.raises(ValueError, match="symbolic link: replace it with the file"):
        _tree.list_files(root)


def test_a_missing_source_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere does not exist"):
        _tree.list_files(tmp_path / "nowhere")


def test_touching_one_processor_file_changes_only_the_image(tmp_path: Path) -> None:
    processor = copy_app("processor", tmp_path)
    orchestrator = copy_app("orchestrator", tmp_path)
    image_before = BuildContext.of(processor, "Dockerfile", "linux/amd64")
    package_before = PackageSources.of(orchestrator)

    module = next(iter(sorted((processor / "processor").glob("*.py"))))
    module.write_text(module.read_text() + "\n# touched\n")

    image_after = BuildContext.of(processor, "Dockerfile", "linux/amd64")
    assert image_after.tag != image_before.tag
    assert PackageSources.of(orchestrator).version == package_before.version


def test_touching_the_orchestrator_or_its_pins_changes_only_the_package(tmp_path: Path) -> None:
    processor = copy_app("processor", tmp_path)
    orchestrator = copy_app("orchestrator", tmp_path)
    image_before = BuildContext.of(processor, "Dockerfile", "linux/amd64").tag
    versions = {PackageSources.of(orchestrator).version}

    (orchestrator / "orchestrator" / "__init__.py").write_text("# touched\n", "utf-8")
    versions.add(PackageSources.of(orchestrator).version)
    pins = orchestrator / "requirements-node.txt"
    pins.write_text(pins.read_text() + "# touched\n")
    versions.add(PackageSources.of(orchestrator).version)
    # Not shipped, so not hashed: editing the pyproject publishes nothing.
    (orchestrator / "pyproject.toml").write_text("# touched\n", "utf-8")
    versions.add(PackageSources.of(orchestrator).version)

    assert len(versions) == 3
    assert BuildContext.of(processor, "Dockerfile", "linux/amd64").tag == image_before


def test_the_platform_is_part_of_the_image_tag(tmp_path: Path) -> None:
    processor = copy_app("processor", tmp_path)
    amd = BuildContext.of(processor, "Dockerfile", "linux/amd64").tag
    arm = BuildContext.of(processor, "Dockerfile", "linux/arm64").tag
    assert amd != arm
