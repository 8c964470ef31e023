"""The benchmark's bookkeeping: what it measures must be what it says it measures."""

from __future__ import annotations

from collections.abc import Callable

from scripts.bench_processor import Measurement, fastest_interleaved


def _scripted(
    name: str, seconds: list[float], log: list[str], ok: list[bool] | None = None
) -> Callable[[], Measurement]:
    runs = iter(zip(seconds, ok or [True] * len(seconds), strict=True))

    def run() -> Measurement:
        took, fine = next(runs)
        log.append(name)
        return Measurement(name, took, took, 10.0, fine, "" if fine else "boom")

    return run


def test_runs_take_turns_and_the_fastest_of_each_counts() -> None:
    log: list[str] = []
    cleanups: list[int] = []
    runs: list[Callable[[], Measurement]] = [
        _scripted("floor", [1.6, 1.4, 1.5], log),
        _scripted("processor", [2.9, 3.1, 2.7], log),
    ]

    floor, processor = fastest_interleaved(runs, 3, before_each=lambda: cleanups.append(1))

    assert log == ["floor", "processor"] * 3
    assert len(cleanups) == 6  # before every run, so none inherits another's write-back
    assert (floor.name, floor.seconds) == ("floor", 1.4)
    assert (processor.name, processor.seconds) == ("processor", 2.7)


def test_a_failed_run_is_reported_even_when_another_run_succeeds() -> None:
    runs: list[Callable[[], Measurement]] = [
        _scripted("processor", [2.0, 9.0, 1.0], [], ok=[True, False, True])
    ]

    (processor,) = fastest_interleaved(runs, 3, before_each=lambda: None)

    assert not processor.ok
    assert processor.detail == "boom"
