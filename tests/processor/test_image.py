"""The container image: entry point forms, Dockerfile sources, build context hygiene."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processor.helpers import BAGS, ROOT

APP = ROOT / "apps" / "processor"


def _entrypoint(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROCESSOR_PYTHON": sys.executable}
    return subprocess.run(
        ["sh", str(APP / "entrypoint.sh"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    "prefix", [[], [sys.executable, "-m", "processor"]], ids=["arguments", "full-command"]
)
def test_entrypoint_accepts_both_command_forms(prefix: list[str]) -> None:
    result = _entrypoint(*prefix, "info", str(BAGS / "gps-navsatfix.bag"), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["messages"] == 151


def test_entrypoint_passes_exit_status_through(tmp_path: Path) -> None:
    result = _entrypoint("extract", str(tmp_path / "missing.bag"), str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("processor: error:")


def test_dockerfile_copies_only_what_exists_and_ignores_build_litter() -> None:
    dockerfile = (APP / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.12-slim", dockerfile, re.MULTILINE)
    sources = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    assert sources and all((APP / source).exists() for source in sources)
    assert "RUN pip install /tmp/processor && rm -rf /tmp/processor" in dockerfile
    assert 'ENTRYPOINT ["/usr/local/bin/processor-entrypoint"]' in dockerfile
    ignored = (APP / ".dockerignore").read_text().split()
    assert {"*.egg-info", "**/__pycache__", "tests"} <= set(ignored)
    assert os.access(APP / "entrypoint.sh", os.X_OK)
