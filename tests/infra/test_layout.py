"""The README's layout: a newcomer finds the code of any Azure resource in one hop, and every
file under infra/ is part of what `pulumi up` runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from offline import Recording

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
SECTION = "#### Where each Azure resource is declared"


def resource_table() -> dict[str, list[str]]:
    """`module:Type` -> the files its README row names."""
    text = README.read_text(encoding="utf-8").split(SECTION, 1)[1].split("\n\n", 2)[1]
    table: dict[str, list[str]] = {}
    for row in text.splitlines()[2:]:
        resources, files = row.strip("|").split("|", 1)
        for resource in re.findall(r"`([\w]+:\w+)`", resources):
            table[resource] = re.findall(r"`(infra/[\w/]+\.py)`", files)
    return table


def short_type(resource_type: str) -> str:
    """`azure-native:batch:Pool` -> `batch:Pool`; `pulumi-python:dynamic/rosbag:X` -> `dynamic:X`
    (the short names of the README table)."""
    provider, module, name = resource_type.split(":")
    return f"dynamic:{name}" if provider == "pulumi-python" else f"{module}:{name}"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_readme_names_the_file_declaring_every_resource(
    stack: str, recordings: dict[str, Recording]
) -> None:
    table = resource_table()
    types = {
        short_type(r.type)
        for r in recordings[stack].resources
        if r.type.startswith(("azure-native:", "pulumi-python:dynamic"))
    }
    assert types - set(table) == set(), "add a row to the README's table"
    for resource in types:
        name = resource.split(":")[1]
        sources = [(REPO_ROOT / path).read_text(encoding="utf-8") for path in table[resource]]
        assert any(re.search(rf"\b{name}\(", source) for source in sources), resource


def test_every_file_under_infra_runs_at_pulumi_up() -> None:
    # In a fresh interpreter: the modules the program imports when it declares a stack.
    script = (
        "import sys; from offline import run_stack; run_stack('prod'); "
        "print('\\n'.join(m for m in sys.modules if m == 'infra' or m.startswith('infra.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout.split()
    files = {
        ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (REPO_ROOT / "infra").rglob("*.py")
    }
    assert files - set(loaded) == set()
