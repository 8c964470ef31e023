"""The orchestrator package zip: the contract layout (docs/contracts.md §3), vendored dependencies,
byte-identical rebuilds, and clear failures."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from infra.dynamic import _package
from scripts.pin_node_requirements import wanted
from tests.dynamic.helpers import REPOSITORY_ROOT, orchestrator_tree


def _build(source: Path, wheelhouse: Path, target: Path) -> Path:
    _package.build_zip(_package.PackageSources.of(source), target, str(wheelhouse))
    return target


def test_zip_layout_matches_the_contract(tmp_path: Path) -> None:
    source = orchestrator_tree(tmp_path, tmp_path / "wheels")
    archive = _build(source, tmp_path / "wheels", tmp_path / "package.zip")
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        launcher = zf.getinfo("run-orchestrator")
    assert names == sorted(names)
    assert names[0] == "run-orchestrator"
    assert (launcher.external_attr >> 16) & 0o777 == 0o755
    assert "site-packages/orchestrator/__main__.py" in names
    assert "site-packages/tinydep/__init__.py" in names
    assert "site-packages/tinydep-1.0.dist-info/METADATA" in names
    noise = [n for n in names if n.rsplit("/", 1)[-1] in _package.INSTALL_NOISE]
    assert noise == []
    assert not [n for n in names if n.endswith(".pyc") or n.startswith("site-packages/bin/")]
    assert "requirements-node.txt" not in names


def test_same_inputs_give_a_byte_identical_zip(tmp_path: Path) -> None:
    source = orchestrator_tree(tmp_path, tmp_path / "wheels")
    first = _build(source, tmp_path / "wheels", tmp_path / "one.zip")
    moved = tmp_path / "moved" / "src"
    shutil.copytree(source, moved)
    second = _build(moved, tmp_path / "wheels", tmp_path / "two.zip")
    assert first.read_bytes() == second.read_bytes()


def test_the_unzipped_package_runs_with_its_vendored_dependency(tmp_path: Path) -> None:
    source = orchestrator_tree(tmp_path, tmp_path / "wheels")
    archive = _build(source, tmp_path / "wheels", tmp_path / "package.zip")
    node = tmp_path / "node"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(node)
    (node / "run-orchestrator").chmod(0o755)  # extractall drops modes; Batch keeps them
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(node / "site-packages")
    done = subprocess.run(
        [str(node / "run-orchestrator")], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() == "orchestrator 42", done.stderr


def test_an_unavailable_dependency_fails_naming_the_target(tmp_path: Path) -> None:
    source = orchestrator_tree(tmp_path, tmp_path / "wheels")
    (source / "requirements-node.txt").write_text("tinydep==9.9\n")
    with pytest.raises(RuntimeError, match=r"could not vendor .* CPython 3\.12 manylinux x86_64"):
        _build(source, tmp_path / "wheels", tmp_path / "package.zip")


def test_a_missing_launcher_is_named(tmp_path: Path) -> None:
    source = orchestrator_tree(tmp_path, tmp_path / "wheels")
    (source / "run-orchestrator").unlink()
    with pytest.raises(FileNotFoundError, match="run-orchestrator not found"):
        _package.PackageSources.of(source)


def test_the_version_is_a_valid_batch_version_derived_from_the_hash(tmp_path: Path) -> None:
    sources = _package.PackageSources.of(orchestrator_tree(tmp_path, tmp_path / "wheels"))
    assert sources.version == sources.content_hash[: _package.VERSION_LENGTH]
    assert sources.version.isalnum()


def test_the_pins_satisfy_every_dependency_the_orchestrator_declares() -> None:
    """A dependency added to apps/orchestrator/pyproject.toml without re-pinning would be missing
    on the nodes: regenerate with `python -m scripts.pin_node_requirements`."""
    orchestrator = REPOSITORY_ROOT / "apps" / "orchestrator"
    pins: dict[str, str] = {}
    for line in (orchestrator / _package.REQUIREMENTS).read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, _, version = line.split()[0].partition("==")
            pins[canonicalize_name(name)] = version
    for text in wanted(orchestrator / "pyproject.toml"):
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned in {_package.REQUIREMENTS}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{name}=={pins[name]} does not satisfy {requirement}"
        )


def _python312() -> str | None:
    candidates = [shutil.which("python3.12") or ""]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12")))
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-V"], capture_output=True).returncode == 0:
            return candidate
    return None


@pytest.mark.slow
def test_real_package_vendors_from_the_index_and_imports_on_cpython_312(tmp_path: Path) -> None:
    """The real apps/orchestrator with its pinned (hash-checked) dependencies from the package
    index, unzipped like a node would and imported by CPython 3.12, the nodes' Python."""
    python312 = _python312()
    if python312 is None:
        pytest.skip("no CPython 3.12 on this machine to import the vendored package with")
    sources = _package.PackageSources.of(REPOSITORY_ROOT / "apps" / "orchestrator")
    archive = tmp_path / "package.zip"
    _package.build_zip(sources, archive, None)
    again = tmp_path / "again.zip"
    _package.build_zip(sources, again, None)
    assert archive.read_bytes() == again.read_bytes()

    node = tmp_path / "node"
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(node)
    site = str(node / "site-packages")
    modules = [
        "orchestrator",
        "azure.batch",
        "azure.identity",
        "azure.keyvault.secrets",
        "azure.monitor.opentelemetry",
        "cryptography.hazmat.bindings._rust",  # a compiled extension: right ABI and platform
    ]
    code = (
        f"import sys; sys.path.insert(0, {site!r}); import {', '.join(modules)}; "
        "print(sys.version_info[:2], orchestrator.__file__)"
    )
    # -I: nothing from this machine's environment or user site leaks into the check.
    done = subprocess.run(
        [python312, "-I", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("(3, 12)") and site in done.stdout
