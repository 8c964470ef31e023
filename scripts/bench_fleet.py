"""The orchestrator at fleet scale: plan and submit N bags through the real Batch executor.

    python scripts/bench_fleet.py [--bags 1000 10000]      (make bench-fleet)

For each N, side by side in one run: the orchestrator (`python -m orchestrator extract
--executor batch`, its real azure-batch 15.x client over HTTPS) runs in a child process against
the loopback fake Batch service of the tests (tests/orchestrator/fake_batch), which lives in
this process, so the child's peak RSS is the orchestrator's alone. Printed per N: plan time
(discovery, the `_SUCCESS` checks and build_plan), submit time, the requests by kind, peak RSS
and the size of outputs.json; then the ratios of the largest N to the smallest.

What is real and what is not:
- real: discovery (os.walk and stat over N bag files in vehicle/date folders), the `_SUCCESS`
  checks, the plan, the executor and its HTTP requests, the report and outputs.json;
- placeholders: the bags are 16-byte files, except every 200th, a sparse file of 10 GiB
  (st_size says 10 GiB, no disk used) that the plan splits into 3 shards and a merge;
- not run: the tasks. The fake's runner is off; a thread here completes every task that is
  active (exit 0; every 100th bag exits 2, bad input, so the failure paths are walked too).
  Manifests do not exist, so every bag's counts are unknown.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.orchestrator.fake_batch import FakeBatchService, FakeCredential  # noqa: E402
from tests.orchestrator.fake_batch.state import FakeBatchState, now_iso  # noqa: E402
from tests.orchestrator.helpers import activity_document  # noqa: E402

BAGS_PER_FOLDER = 100
LARGE_EVERY = 200  # every 200th bag is a sparse 10 GiB file: 3 shards and a merge
LARGE_BYTES = 10 * 1024**3
FAILING_EVERY = 100  # every 100th bag's task exits 2 (bad input: the processor's verdict)
RUN_ID = "8d6a1f0e-3b8b-4c4e-9a52-0c1d2e3f4a5b"
REQUEST_KINDS = ("add_tasks", "task_counts", "list_tasks", "get_job", "create_job")


def make_bags(data_root: Path, count: int) -> None:
    """`count` placeholder bags under data_root/raw/vehicle-VV/DDDD/, BAGS_PER_FOLDER a folder."""
    for index in range(count):
        folder = data_root / "raw" / f"vehicle-{index // 1000:02d}" / f"day-{index // 100:04d}"
        if index % BAGS_PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"drive-{index:05d}.bag"
        with path.open("wb") as handle:
            if index % LARGE_EVERY == LARGE_EVERY - 1:
                handle.truncate(LARGE_BYTES)  # sparse: the size the plan sees, no disk
            else:
                handle.write(b"\0" * 16)


class Completer(threading.Thread):
    """Completes every active task of the fake service, as instant processor runs would."""

    def __init__(self, state: FakeBatchState) -> None:
        super().__init__(name="bench-completer", daemon=True)
        self.state = state
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            with self.state.lock:
                for job in self.state.jobs.values():
                    for task in job.tasks.values():
                        if task.state == "active":
                            _complete(task.id, task)


def _complete(task_id: str, task: Any) -> None:
    number = int(task_id.split("drive-")[1][:5]) if "drive-" in task_id else 0
    task.start_time = task.start_time or now_iso()
    task.exit_code = 2 if number % FAILING_EVERY == FAILING_EVERY - 1 else 0
    task.state, task.end_time = "completed", now_iso()
    if task.exit_code:
        task.failure = {"category": "usererror", "code": "FailureExitCode", "message": "exit 2"}


@dataclass(frozen=True)
class Figures:
    bags: int
    tasks: int
    plan_seconds: float
    submit_seconds: float
    total_seconds: float
    requests: dict[str, int]
    peak_rss_mb: float
    outputs_bytes: int
    results_listed: int
    results_omitted: int


def measure(bags: int, work: Path) -> Figures:
    """One orchestrator run over `bags` placeholder bags against a fresh fake Batch service."""
    mounts = work / "fsmounts"
    make_bags(mounts / "data", bags)
    node = work / "wd"
    node.mkdir()
    with FakeBatchService(work, run_tasks=False) as batch:
        activity = activity_document(batchAccountEndpoint=batch.url, runId=RUN_ID)
        (node / "activity.json").write_text(json.dumps(activity), encoding="utf-8")
        completer = Completer(batch.state)
        completer.start()
        try:
            child = subprocess.run(
                [sys.executable, __file__, "--child", batch.ca_file],
                cwd=node,
                env={**os.environ, "AZ_BATCH_NODE_MOUNTS_DIR": str(mounts)},
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            completer.stopped.set()
            completer.join()
        requests = dict(batch.requests)
    if child.returncode != 0:
        raise RuntimeError(f"orchestrator exited {child.returncode}: {child.stderr[-3000:]}")
    timings = json.loads(child.stdout.strip().splitlines()[-1])
    outputs = node / "outputs.json"
    document = json.loads(outputs.read_text(encoding="utf-8"))
    return Figures(
        bags=bags,
        tasks=timings["tasks"],
        plan_seconds=timings["plan"],
        submit_seconds=timings["submit"],
        total_seconds=timings["total"],
        requests=requests,
        peak_rss_mb=timings["rss_kb"] / 1024,
        outputs_bytes=outputs.stat().st_size,
        results_listed=len(document["results"]),
        results_omitted=document["resultsOmitted"],
    )


@contextlib.contextmanager
def _timed(owner: Any, name: str, spent: dict[str, float]) -> Iterator[None]:
    """Wrap `owner.name` so that the seconds spent in it add up in spent[name]."""
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def child(ca_file: str) -> int:
    """The orchestrator's side: run it as ADF would, print the timings as one JSON line."""
    import resource

    from orchestrator import cli, intake
    from orchestrator.executors.batch import BatchExecutor

    spent: dict[str, float] = {}
    tasks: list[int] = []

    started = time.perf_counter()
    with (
        contextlib.redirect_stdout(sys.stderr),
        _timed(cli, "find_bags", spent),
        _timed(intake, "take_bags", spent),
        _timed(cli, "build_plan", spent),
        _timed(BatchExecutor, "_add_tasks", spent),
    ):
        timed_build_plan = cli.build_plan

        def counting_build_plan(*args: Any, **kwargs: Any) -> Any:
            plan = timed_build_plan(*args, **kwargs)
            tasks.append(len(plan.tasks))
            return plan

        cli.build_plan = counting_build_plan  # undone by the timing wrapper's restore
        code = cli.main(
            ["extract", "--poll-seconds", "0.05"],
            credential=FakeCredential(),
            batch_client_options={"connection_verify": ca_file},
        )
    total = time.perf_counter() - started
    plan = spent.get("find_bags", 0) + spent.get("take_bags", 0) + spent.get("build_plan", 0)
    figures = {
        "tasks": tasks[0] if tasks else 0,
        "plan": plan,
        "submit": spent.get("_add_tasks", 0.0),
        "total": total,
        "rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(figures))
    return code


def _row(label: str, values: list[str]) -> str:
    return f"{label:<28}" + "".join(f"{value:>14}" for value in values)


def report(runs: list[Figures]) -> str:
    small, large = runs[0], runs[-1]
    ratio = f"ratio x{large.bags / small.bags:g}"
    lines = [_row("", [f"{run.bags} bags" for run in runs] + [ratio])]

    def add(label: str, pick: Any, fmt: str) -> None:
        values = [pick(run) for run in runs]
        ratio = f"{values[-1] / values[0]:.2f}" if values[0] else "-"
        lines.append(_row(label, [format(value, fmt) for value in values] + [ratio]))

    add("tasks", lambda run: run.tasks, "d")
    add("plan seconds", lambda run: run.plan_seconds, ".3f")
    add("submit seconds", lambda run: run.submit_seconds, ".3f")
    add("whole run seconds", lambda run: run.total_seconds, ".3f")
    for kind in REQUEST_KINDS:
        add(f"requests: {kind}", lambda run, kind=kind: run.requests.get(kind, 0), "d")
    add("requests: all", lambda run: sum(run.requests.values()), "d")
    add("peak RSS MB", lambda run: run.peak_rss_mb, ".1f")
    add("outputs.json bytes", lambda run: run.outputs_bytes, "d")
    add("outputs.json results listed", lambda run: run.results_listed, "d")
    add("outputs.json results omitted", lambda run: run.results_omitted, "d")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="The orchestrator at fleet scale.")
    parser.add_argument("--bags", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--child", metavar="CA_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    runs: list[Figures] = []
    for count in sorted(args.bags):
        with tempfile.TemporaryDirectory(prefix="bench-fleet-") as work:
            print(f"{count} bags ...", flush=True)
            runs.append(measure(count, Path(work)))
    print(report(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
