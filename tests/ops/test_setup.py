"""The requirement sets the Makefile installs: each command gets what it imports, and nothing
a command needs is left to a set it does not install.

- requirements.txt is all that `pulumi up` gets when Pulumi's python runtime creates .venv
  itself (it runs `pip install -r requirements.txt`, nothing else: pulumi/pulumi
  sdk/python/toolchain/pip.go, InstallDependencies), so every distribution the program imports
  must come from it.
- requirements-apps.txt is what `make demo` installs; requirements-dev.txt (`make test`) must hold
  everything the other two hold, since its stamp stands for both.
- make installs each set from its hashed *.lock (`make lock` regenerates them), so a lock must
  pin, with hashes, a version of everything its *.txt asks for.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from offline import REPO_ROOT

PROGRAM_SOURCES = [REPO_ROOT / "__main__.py", *sorted((REPO_ROOT / "infra").rglob("*.py"))]


def requirement_lines(name: str) -> list[str]:
    lines = (REPO_ROOT / name).read_text(encoding="utf-8").splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def named_requirements(name: str) -> set[str]:
    """Distribution names a requirements file asks for (following -r), editables by path."""
    names: set[str] = set()
    for line in requirement_lines(name):
        if line.startswith("-r "):
            names |= named_requirements(line.removeprefix("-r ").strip())
        elif line.startswith("-e "):
            names.add(line.removeprefix("-e ").strip().split("[")[0])
        else:
            names.add(canonical(Requirement(line).name))
    return names


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def with_dependencies(names: set[str]) -> set[str]:
    """The names and everything they pull in, from the installed distributions' metadata."""
    found: set[str] = set()
    pending = [name for name in names if not name.startswith("./")]
    while pending:
        name = canonical(pending.pop())
        if name in found:
            continue
        found.add(name)
        for requirement in metadata.requires(name) or []:
            parsed = Requirement(requirement)
            if parsed.marker is None or parsed.marker.evaluate({"extra": ""}):
                pending.append(parsed.name)
    return found


def imported_modules(paths: list[Path]) -> set[str]:
    modules: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module)
    return modules


def imported_top_level_modules(paths: list[Path]) -> set[str]:
    return {module.split(".")[0] for module in imported_modules(paths)}


def owning_distribution(module: str, owners: dict[Path, str]) -> str | None:
    """The distribution that installed the file a module is loaded from (namespace packages such
    as `azure` are shared by many distributions; the module's own file is not)."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin in (None, "built-in", "frozen"):
        return None
    return owners.get(Path(spec.origin).resolve())


def installed_files() -> dict[Path, str]:
    owners: dict[Path, str] = {}
    for distribution in metadata.distributions():
        for file in distribution.files or []:
            if file.suffix == ".py":
                owners[Path(str(distribution.locate_file(file))).resolve()] = canonical(
                    distribution.metadata["Name"]
                )
    return owners


def test_requirements_txt_alone_holds_every_distribution_the_program_imports() -> None:
    provided = with_dependencies(named_requirements("requirements.txt"))
    owners = installed_files()
    missing: dict[str, str | None] = {}
    for module in sorted(imported_modules(PROGRAM_SOURCES)):
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in ("infra", "__future__"):
            continue
        distribution = owning_distribution(module, owners)
        if distribution not in provided:
            missing[module] = distribution
    assert not missing, f"imported by the program but not from requirements.txt: {missing}"


def test_the_program_needs_neither_app() -> None:
    """`pulumi up` never installs the apps: the program only reads their files."""
    imported = imported_top_level_modules(PROGRAM_SOURCES)
    assert not imported & {"processor", "orchestrator", "ops"}


def test_the_demo_set_is_the_two_apps_and_nothing_of_pulumi_or_azure() -> None:
    # duckdb: the demo ends with `ops query` (docs/lakehouse.md), which needs no Azure SDK.
    assert named_requirements("requirements-apps.txt") == {
        "./apps/processor",
        "./apps/orchestrator",
        "duckdb",
    }
    assert "-e ./apps/orchestrator[lake]" in requirement_lines("requirements-apps.txt")
    demo = with_dependencies(
        {canonical(dependency) for dependency in demo_app_dependencies()} | {"duckdb"}
    )
    assert not {name for name in demo if name.startswith(("pulumi", "azure-"))}


def demo_app_dependencies() -> list[str]:
    import tomllib

    names: list[str] = []
    for app in ("processor", "orchestrator"):
        project = tomllib.loads((REPO_ROOT / "apps" / app / "pyproject.toml").read_text())
        lines = project["project"]["dependencies"]
        if app == "orchestrator":  # the demo commits its run into the lake
            lines = [*lines, *project["project"]["optional-dependencies"]["lake"]]
        names.extend(Requirement(line).name for line in lines)
    return names


def test_the_test_set_holds_the_program_set_and_the_demo_set() -> None:
    dev = requirement_lines("requirements-dev.txt")
    assert "-r requirements.txt" in dev
    editable_paths = {
        line.removeprefix("-e ").split("[")[0] for line in dev if line.startswith("-e ")
    }
    assert named_requirements("requirements-apps.txt") - {"duckdb"} <= editable_paths
    assert "duckdb" in named_requirements("requirements-dev.txt")


def asked_for(name: str) -> list[Requirement]:
    """Every requirement a *.txt asks for (following -r), the apps' own dependencies included
    (with the extras it names), that applies to this interpreter."""
    import tomllib

    asked: list[Requirement] = []
    for line in requirement_lines(name):
        if line.startswith("-r "):
            asked += asked_for(line.removeprefix("-r ").strip())
        elif line.startswith("-e "):
            path, _, extras = line.removeprefix("-e ").strip().partition("[")
            project = tomllib.loads((REPO_ROOT / path / "pyproject.toml").read_text())["project"]
            lines = list(project["dependencies"])
            for extra in filter(None, extras.rstrip("]").split(",")):
                lines += project["optional-dependencies"][extra.strip()]
            asked += [Requirement(text) for text in lines]
        else:
            asked.append(Requirement(line))
    return [r for r in asked if r.marker is None or r.marker.evaluate({"extra": ""})]


def locked(name: str) -> dict[str, tuple[str, int]]:
    """canonical name -> (pinned version, number of hashes) in a *.lock."""
    pins: dict[str, tuple[str, int]] = {}
    current = ""
    for line in (REPO_ROOT / name).read_text(encoding="utf-8").splitlines():
        pin = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", line)
        if pin:
            current = canonical(pin[1])
            pins[current] = (pin[2], 0)
        elif line.strip().startswith("--hash=sha256:") and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


@pytest.mark.parametrize(
    ("wanted", "lock"),
    [
        ("requirements-apps.txt", "requirements-apps.lock"),
        ("requirements.txt", "requirements.lock"),
        ("requirements-dev.txt", "requirements-dev.lock"),
    ],
)
def test_each_lock_pins_with_hashes_what_its_requirements_ask_for(wanted: str, lock: str) -> None:
    pins = locked(lock)
    assert pins, f"{lock} pins nothing"
    unhashed = sorted(name for name, (_, hashes) in pins.items() if hashes == 0)
    assert unhashed == [], f"{lock}: no hashes for {unhashed}"
    stale = []
    for requirement in asked_for(wanted):
        version = pins.get(canonical(requirement.name), ("", 0))[0]
        if not version or not requirement.specifier.contains(version, prereleases=True):
            stale.append(f"{requirement} (locked: {version or 'missing'})")
    assert stale == [], f"{lock} is older than {wanted}: run `make lock` ({stale})"


def test_ops_run_without_the_azure_sdks_says_to_run_make_setup() -> None:
    # `make demo`'s venv has the apps alone; `ops run` there used to end in a traceback (review C).
    blocked = (
        "import runpy, sys; sys.modules['azure'] = None; sys.argv = ['ops', 'run', '--help']; "
        "runpy.run_module('ops', run_name='__main__')"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "run `make setup`" in done.stderr
