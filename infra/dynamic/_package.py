"""The orchestrator's Batch application package: a deterministic zip holding the `run-orchestrator`
launcher at its root and `site-packages/` with the orchestrator package and its pinned
dependencies, vendored for the pool's Python and CPU (docs/contracts.md §3), so nodes never need a
package index.

The content hash (and so the package version) covers what we control: the orchestrator sources, the
launcher and the pinned requirements. It deliberately leaves out the vendored wheels, so computing
it (at every preview) downloads nothing; the wheels are fetched only when a version is published.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra.dynamic import _tree
from infra.node_commands import LAUNCHER

PACKAGE = "orchestrator"  # the import package inside apps/orchestrator
REQUIREMENTS = "requirements-node.txt"
# pip of the interpreter running `pulumi up` (and scripts/pin_node_requirements.py).
PIP_INSTALL = (sys.executable, "-m", "pip", "install", "--quiet")
VERSION_LENGTH = 12

# The orchestrator pool runs Ubuntu 24.04: CPython 3.12 on x86_64 with glibc 2.39. pip does not
# expand `manylinux_2_X` platforms to older ones by itself, so list every glibc level the node
# satisfies (manylinux2014 expands to manylinux2010 and manylinux1).
TARGET_PYTHON = "3.12"
TARGET_GLIBC_MINOR = 39
TARGET_PLATFORMS = tuple(
    [f"manylinux_2_{minor}_x86_64" for minor in range(TARGET_GLIBC_MINOR, 16, -1)]
    + ["manylinux2014_x86_64"]
)


def node_target_args() -> list[str]:
    """pip options that resolve wheels for the node (CPython 3.12, manylinux x86_64), not for
    this machine: shared by vendoring and by pinning, so the pins always fit what is vendored."""
    return [
        "--implementation",
        "cp",
        "--python-version",
        TARGET_PYTHON,
        "--only-binary=:all:",
        *[arg for platform in TARGET_PLATFORMS for arg in ("--platform", platform)],
    ]


# What pip writes that varies between installs (or names the machine): left out of the zip.
INSTALL_NOISE = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


@dataclass(frozen=True)
class PackageSources:
    """What goes into the package from the orchestrator's source folder, and its hash."""

    launcher: _tree.SourceFile
    package_files: list[_tree.SourceFile]
    requirements: Path
    content_hash: str

    @classmethod
    def of(cls, source_dir: Path) -> PackageSources:
        launcher = source_dir / LAUNCHER
        requirements = source_dir / REQUIREMENTS
        for needed in (launcher, requirements, source_dir / PACKAGE / "__init__.py"):
            if not needed.is_file():
                raise FileNotFoundError(
                    f"{needed} not found: the orchestrator package needs {LAUNCHER}, "
                    f"{REQUIREMENTS} and the {PACKAGE}/ package in {source_dir}"
                )
        files = [
            _tree.SourceFile(launcher, LAUNCHER, executable=True),
            _tree.SourceFile(requirements, REQUIREMENTS, executable=False),
            *_tree.list_files(source_dir / PACKAGE, f"site-packages/{PACKAGE}/"),
        ]
        target = f"cp{TARGET_PYTHON} " + " ".join(TARGET_PLATFORMS)
        return cls(
            launcher=files[0],
            package_files=files[2:],
            requirements=requirements,
            content_hash=_tree.content_hash(files, extra=[target]),
        )

    @property
    def version(self) -> str:
        """The Batch package version: short, and valid in Batch's `AZ_BATCH_APP_PACKAGE_*` names."""
        return self.content_hash[:VERSION_LENGTH]


def vendor(requirements: Path, target: Path, find_links: str | None) -> None:
    """pip-install `requirements` into `target` for the node's Python and CPU.

    `find_links` (a wheelhouse folder or URL) replaces the package index, for offline builds and
    tests; otherwise pip uses its configured index (PyPI or a mirror from pip.conf).
    """
    command = [
        *PIP_INSTALL,
        "--disable-pip-version-check",
        "--no-input",
        "--no-compile",
        "--target",
        str(target),
        *node_target_args(),
        "--requirement",
        str(requirements),
    ]
    if find_links:
        command += ["--no-index", "--find-links", find_links]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        detail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise RuntimeError(
            f"could not vendor {requirements} for CPython {TARGET_PYTHON} manylinux x86_64 "
            f"(pip exit {done.returncode}); every pinned requirement needs a wheel for that "
            f"target. pip said:\n{detail}"
        )
    # Console scripts carry this machine's interpreter path; nodes run `python -m` instead.
    shutil.rmtree(target / "bin", ignore_errors=True)
    for noise in target.glob("*.dist-info/*"):
        if noise.name in INSTALL_NOISE:
            noise.unlink()


def build_zip(sources: PackageSources, target: Path, find_links: str | None) -> None:
    """Write the package zip for `sources` to `target`, byte-identical for the same inputs."""
    with tempfile.TemporaryDirectory(prefix="orchestrator-package-") as work:
        site = Path(work, "site-packages")
        site.mkdir()
        vendor(sources.requirements, site, find_links)
        if (site / PACKAGE).exists():
            raise RuntimeError(
                f"a vendored dependency installs a `{PACKAGE}` package, which would clash with ours"
            )
        vendored = _tree.list_files(
            site, "site-packages/", exclude_dir=lambda name: name == "__pycache__"
        )
        files = sorted([sources.launcher, *sources.package_files, *vendored], key=_arcname)
        _tree.write_zip(target, files)


def _arcname(file: _tree.SourceFile) -> str:
    return file.arcname
