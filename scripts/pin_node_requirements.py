"""Regenerate apps/orchestrator/requirements-node.txt: the orchestrator's dependencies (its
pyproject's base dependencies plus the `batch`, `telemetry` and `lake` extras: the node commits
the lakehouse after each ADF run, docs/lakehouse.md) resolved for the node's
Python and CPU, each pinned to one version with the SHA-256 of the wheel pip chose.

    .venv/bin/python -m scripts.pin_node_requirements

Run it after changing the orchestrator's dependencies; the new pins change the package's content
hash, so the next `pulumi up` publishes a new version. Hashes put pip in hash-checking mode when
the package is built, so a dependency missing from the list fails the build instead of being
fetched unpinned.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import tomllib
from pathlib import Path

from infra.dynamic._package import PIP_INSTALL, REQUIREMENTS, TARGET_PYTHON, node_target_args

ORCHESTRATOR = Path(__file__).resolve().parents[1] / "apps" / "orchestrator"
EXTRAS = ("batch", "telemetry", "lake")


def wanted(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    extras = project.get("optional-dependencies", {})
    return [*project.get("dependencies", []), *(r for e in EXTRAS for r in extras.get(e, []))]


def resolve(requirements: list[str]) -> list[tuple[str, str, str]]:
    """(name, version, sha256) of every distribution pip would install for the node."""
    with tempfile.TemporaryDirectory() as work:
        report = Path(work, "report.json")
        command = [
            *PIP_INSTALL,
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(report),
            "--target",
            str(Path(work, "target")),
            *node_target_args(),
            *requirements,
        ]
        subprocess.run(command, check=True, timeout=600)
        installs = json.loads(report.read_text())["install"]
    pins = [
        (
            item["metadata"]["name"],
            item["metadata"]["version"],
            item["download_info"]["archive_info"]["hashes"]["sha256"],
        )
        for item in installs
    ]
    return sorted(pins, key=lambda pin: pin[0].lower())


def render(pins: list[tuple[str, str, str]]) -> str:
    header = [
        f"# The orchestrator's dependencies for its Batch nodes (CPython {TARGET_PYTHON}, "
        "manylinux x86_64),",
        "# vendored into the application package. Generated: do not edit; regenerate with",
        "#   .venv/bin/python -m scripts.pin_node_requirements",
    ]
    lines = [f"{name}=={version} \\\n    --hash=sha256:{sha256}" for name, version, sha256 in pins]
    return "\n".join(header + lines) + "\n"


def main() -> None:
    pins = resolve(wanted(ORCHESTRATOR / "pyproject.toml"))
    target = ORCHESTRATOR / REQUIREMENTS
    target.write_text(render(pins))
    print(f"wrote {len(pins)} pins to {target}")


if __name__ == "__main__":
    main()
