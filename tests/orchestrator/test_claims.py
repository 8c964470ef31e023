"""Claims: of two runs taking one bag, one wins; stale claims expire; a job retakes its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import cli
from orchestrator.claims import Claims
from tests.orchestrator.helpers import copy_bags


def claims(tmp_path: Path, owner: str, now: float = 1000.0, ttl: float = 60.0) -> Claims:
    return Claims(tmp_path / "_claims", owner, ttl, clock=lambda: now)


def test_of_two_runs_one_wins_and_the_other_names_the_winner(tmp_path: Path) -> None:
    first, second = claims(tmp_path, "job-a"), claims(tmp_path, "job-b")

    assert first.take("raw/a.bag") == ""
    held = second.take("raw/a.bag")

    assert "being extracted by job-a" in held
    assert second.take("raw/b.bag") == ""  # other bags are free


def test_a_retried_activity_of_the_same_job_takes_its_claim_back(tmp_path: Path) -> None:
    assert claims(tmp_path, "job-a").take("raw/a.bag") == ""
    assert claims(tmp_path, "job-a").take("raw/a.bag") == ""


def test_an_expired_claim_is_taken_over(tmp_path: Path) -> None:
    assert claims(tmp_path, "job-a", now=1000.0, ttl=60.0).take("raw/a.bag") == ""

    assert "job-a" in claims(tmp_path, "job-b", now=1059.0).take("raw/a.bag")
    later = claims(tmp_path, "job-b", now=1061.0)
    assert later.take("raw/a.bag") == ""
    holder = json.loads(later.path("raw/a.bag").read_text())
    assert holder["owner"] == "job-b"


def test_the_claim_of_a_dead_process_on_this_host_is_stale_at_once(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    first = claims(tmp_path, "job-a", ttl=3600.0)
    assert first.take("raw/a.bag") == ""
    document = json.loads(first.path("raw/a.bag").read_text())
    document["pid"] = int(dead.stdout)
    first.path("raw/a.bag").write_text(json.dumps(document))

    assert claims(tmp_path, "job-b", ttl=3600.0).take("raw/a.bag") == ""


def test_release_removes_only_this_runs_claim(tmp_path: Path) -> None:
    first, second = claims(tmp_path, "job-a"), claims(tmp_path, "job-b")
    assert first.take("raw/a.bag") == ""

    second.release("raw/a.bag")
    assert first.path("raw/a.bag").exists()
    first.release_all()
    assert not first.path("raw/a.bag").exists()


def test_a_takeover_in_progress_is_left_alone(tmp_path: Path) -> None:
    assert claims(tmp_path, "job-a", now=1000.0).take("raw/a.bag") == ""
    late = claims(tmp_path, "job-c", now=5000.0)
    lock = late.takeover_lock("raw/a.bag")
    lock.mkdir()  # job-b is breaking the stale claim right now (its lock is fresh)
    os.utime(lock, (5000.0, 5000.0))

    assert late.take("raw/a.bag") != ""
    assert json.loads(late.path("raw/a.bag").read_text())["owner"] == "job-a"


def test_a_bag_another_run_holds_is_reported_busy_and_not_extracted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = copy_bags(tmp_path / "raw", ["gps-navsatfix.bag"])
    out = tmp_path / "extracted"
    # Another live run (this test's parent process, on this host) holds the bag.
    other = Claims(out / "_claims", "manual-other-run", 3600.0)
    other.take("raw/gps-navsatfix.bag")
    document = json.loads(other.path("raw/gps-navsatfix.bag").read_text())
    document["pid"] = os.getppid()
    other.path("raw/gps-navsatfix.bag").write_text(json.dumps(document))

    code = cli.main(["extract", "--input", str(raw), "--output", str(out)])

    shown = capsys.readouterr().out
    assert code == 0
    assert "1 bag, 0 tasks" in shown
    assert "busy raw/gps-navsatfix.bag: being extracted by manual-other-run" in shown
    assert not (out / "gps-navsatfix").exists()
    assert other.path("raw/gps-navsatfix.bag").exists()  # still the other run's


def test_claims_work_where_the_server_refuses_an_exclusive_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # RFC 1813 §3.3.8 lets an NFS server answer an EXCLUSIVE create with NFS3ERR_NOTSUPP, which
    # the Linux client returns as errno 524 (ENOTSUPP). A directory create (MKDIR, §3.3.9)
    # refuses an existing name on every server, so claims must not depend on O_EXCL.
    real_open = os.open

    def no_exclusive_create(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if flags & os.O_EXCL:
            raise OSError(524, "Unknown error 524", str(path))
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", no_exclusive_create)
    first, second = claims(tmp_path, "job-a"), claims(tmp_path, "job-b")

    assert first.take("raw/a.bag") == ""
    assert "being extracted by job-a" in second.take("raw/a.bag")
    assert claims(tmp_path, "job-a").take("raw/a.bag") == ""  # a retried activity
    assert claims(tmp_path, "job-c", now=5000.0).take("raw/a.bag") == ""  # expired: taken over
    assert json.loads(first.path("raw/a.bag").read_text())["owner"] == "job-c"


def test_a_claim_whose_record_is_not_written_yet_is_fresh_and_someone_elses(
    tmp_path: Path,
) -> None:
    first = claims(tmp_path, "job-a", now=1000.0)
    assert first.take("raw/a.bag") == ""
    first.path("raw/a.bag").unlink()  # as between job-a's create and its record
    claim = first.path("raw/a.bag").parent
    os.utime(claim, (1000.0, 1000.0))

    assert "another run" in claims(tmp_path, "job-b", now=1030.0).take("raw/a.bag")
    # Left so by a crash: once older than the claim's lifetime, it is taken over.
    assert claims(tmp_path, "job-b", now=1061.0).take("raw/a.bag") == ""
