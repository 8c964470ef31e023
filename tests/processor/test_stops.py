"""Runs that are stopped or raced: no staging folder is left behind, no error for a race."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from processor.output import replace_folder, staged_folder
from scripts.synthetic_bags import write_drive


@pytest.mark.slow
def test_sigterm_removes_the_staging_folder(tmp_path: Path) -> None:
    # `docker stop` and Batch's task termination send SIGTERM before SIGKILL.
    bag = write_drive(tmp_path / "drive.bag", megabytes=40, frame_size=(320, 240)).path
    outdir = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "processor", "extract", str(bag), str(outdir)],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not any(outdir.glob(".drive.tmp-*")) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    assert process.poll() is None, "the run ended before it could be stopped"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert "terminated" in err and "Traceback" not in err
    assert list(outdir.iterdir()) == []


def test_a_rival_output_landing_between_the_two_renames_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outdir = tmp_path / "out"
    target, new, rival = outdir / "bag", outdir / ".bag.tmp-mine", outdir / ".bag.tmp-rival"
    for folder, name in ((target, "previous"), (new, "mine"), (rival, "rival")):
        folder.mkdir(parents=True)
        (folder / name).write_text(name)
    rename = Path.rename

    def rival_first(self: Path, destination: Path) -> Path:
        if self == new and rival.exists():  # another run of the same bag finishes first
            rename(rival, target)
        return rename(self, destination)

    monkeypatch.setattr(Path, "rename", rival_first)
    replace_folder(new, target)
    assert os.listdir(target) == ["mine"]  # the last run to finish wins, whole
    assert os.listdir(outdir) == ["bag"]  # nothing hidden left behind


def test_a_stop_while_the_staging_folder_is_prepared_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SIGTERM right after the staging folder appears (what the test above aims at) used to land
    # between its creation and the `try` that removes it, and left it behind under load.
    def stopped(self: Path, mode: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "chmod", stopped)
    with pytest.raises(KeyboardInterrupt), staged_folder(tmp_path / "out" / "bag"):
        pass
    assert list((tmp_path / "out").iterdir()) == []
