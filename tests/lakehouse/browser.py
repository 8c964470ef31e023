"""Headless Chromium: render a page, save a screenshot, return what its console said.

Chromium prints each console message and uncaught error to stderr with
`--enable-logging=stderr --v=0`, as `INFO:CONSOLE:<line>] "<text>", source: <url>`
(https://www.chromium.org/for-testers/enable-logging/): no DevTools client needed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\] (.*)")
INSTALL = "install it: apt-get install -y chromium (.ci/run does on CI)"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise AssertionError(f"headless Chromium is needed to check the reports: {INSTALL}")
    return found


def render(page: Path, screenshot: Path, size: str = "1100,900") -> list[str]:
    """The console lines of `page`, after it has been drawn into `screenshot` (PNG)."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                f"--user-data-dir={profile}",
                f"--window-size={size}",
                f"--screenshot={screenshot}",
                "--enable-logging=stderr",
                "--v=0",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if done.returncode != 0 or not screenshot.is_file():
        raise AssertionError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return [m.group(1) for m in map(CONSOLE.search, done.stderr.splitlines()) if m]
