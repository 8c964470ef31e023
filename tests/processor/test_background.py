"""The background writer: order, first failure, and a memory budget that holds."""

from __future__ import annotations

import threading

import pytest

from processor.background import BackgroundWriter


def test_calls_run_in_submission_order() -> None:
    done: list[int] = []
    writer = BackgroundWriter()
    for index in range(200):
        writer.submit(done.append, index, size=10)
    writer.close()
    assert done == list(range(200))


def test_the_first_failure_is_raised_and_nothing_after_it_runs() -> None:
    done: list[str] = []
    release = threading.Event()
    writer = BackgroundWriter()

    def fail() -> None:
        release.wait()
        raise OSError("disk full")

    writer.submit(fail)
    writer.submit(done.append, "after the failure")
    release.set()
    with pytest.raises(OSError, match="disk full"):
        writer.drain()
    with pytest.raises(OSError, match="disk full"):
        writer.submit(done.append, "later")
    with pytest.raises(OSError, match="disk full"):
        writer.close()
    assert done == []


def test_submit_waits_while_the_budget_is_spent() -> None:
    release = threading.Event()
    writer = BackgroundWriter(budget=10)
    writer.submit(release.wait, size=6)
    second = threading.Thread(target=writer.submit, args=(int,), kwargs={"size": 6})
    second.start()
    second.join(timeout=0.3)
    assert second.is_alive(), "12 bytes would wait with a 10-byte budget"
    release.set()
    second.join(timeout=10)
    assert not second.is_alive()
    writer.close()


def test_work_larger_than_the_budget_runs_once_nothing_else_waits() -> None:
    done: list[str] = []
    writer = BackgroundWriter(budget=10)
    writer.submit(done.append, "small", size=4)
    writer.submit(done.append, "huge", size=1_000)
    writer.close()
    assert done == ["small", "huge"]
