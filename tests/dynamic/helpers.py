"""Small source trees and wheels for the dynamic-provider tests, and the Pulumi `up` steps a test
plays through a provider (diff first, then create/update only when diff says so)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import zipfile
from pathlib import Path
from typing import Any

from pulumi.dynamic import ResourceProvider

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
RESOURCE_GROUP = "rg-rosbag-dev"
BATCH_ACCOUNT = "rbdevbatch"
REGISTRY = "rbdevacr"
LOGIN_SERVER = "rbdevacr.azurecr.io"


def copy_app(name: str, target: Path) -> Path:
    """A copy of apps/<name> (sources only), so a test can change files freely."""
    destination = target / name
    shutil.copytree(
        REPOSITORY_ROOT / "apps" / name,
        destination,
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    return destination


def make_wheel(wheelhouse: Path, name: str, version: str, module_source: str) -> Path:
    """A minimal pure-Python wheel of one module, like the ones pip installs from an index."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": module_source.encode(),
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record_lines = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record_lines.append(f"{path},sha256={digest},{len(data)}")
    record_lines.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record_lines) + "\n").encode()
    wheel = wheelhouse / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def orchestrator_tree(root: Path, wheelhouse: Path) -> Path:
    """A small orchestrator source folder whose one dependency lives in `wheelhouse`."""
    make_wheel(wheelhouse, "tinydep", "1.0", "VALUE = 42\n")
    source = root / "orchestrator-src"
    (source / "orchestrator").mkdir(parents=True)
    (source / "orchestrator" / "__init__.py").write_text('"""The orchestrator."""\n')
    (source / "orchestrator" / "__main__.py").write_text(
        "import tinydep\n\nprint('orchestrator', tinydep.VALUE)\n"
    )
    launcher = source / "run-orchestrator"
    launcher.write_text('#!/usr/bin/env bash\nexec python3 -m orchestrator "$@"\n')
    launcher.chmod(0o755)
    (source / "requirements-node.txt").write_text("tinydep==1.0\n")
    return source


def up(provider: ResourceProvider, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """What `pulumi up` does for an existing resource: diff, and update only on changes."""
    diff = provider.diff("id", olds, news)
    if not diff.changes:
        return olds
    if diff.replaces:
        created = provider.create(news).outs or {}
        provider.delete("id", olds)
        return created
    return provider.update("id", olds, news).outs or {}
