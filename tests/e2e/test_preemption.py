"""A Spot node preempted under a running extraction: Batch requeues the task, it runs again from
the start, and the bag ends with one complete output (the fake Batch service, the real SDK, the
real processor on a real bag)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from threading import Thread

import pytest

from orchestrator.cli import main
from tests.orchestrator.fake_batch import FakeBatchService, FakeCredential
from tests.orchestrator.helpers import copy_bags, write_activity

pytestmark = pytest.mark.slow


def preempt_mid_write(service: FakeBatchService, output: Path) -> Thread:
    """Preempt the first task once its processor is writing (its staging folder exists)."""

    def watch() -> None:
        for _ in range(3000):
            staging = (
                [p for p in output.glob(".turtlesim*") if p.is_dir()] if output.is_dir() else []
            )
            running = [t for t in service.state.all_tasks() if t.state == "running"]
            if staging and running:
                service.state.preempt(running[0].job_id, running[0].id)
                return
            time.sleep(0.005)

    thread = Thread(target=watch)
    thread.start()
    return thread


def test_a_preempted_task_is_requeued_and_gives_one_complete_output(
    batch: FakeBatchService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "fsmounts" / "data"
    copy_bags(data / "raw", ["turtlesim.bag"])
    workdir = tmp_path / "wd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(tmp_path / "fsmounts"))
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    write_activity(workdir, batchAccountEndpoint=batch.url, runId="adf-run-spot", format="csv")

    preempting = preempt_mid_write(batch, data / "extracted")
    code = main(
        ["extract", "--poll-seconds", "0.1"],
        credential=FakeCredential(),
        batch_client_options={"connection_verify": batch.ca_file},
    )
    preempting.join()

    assert code == 0
    [task] = batch.state.all_tasks()
    assert task.preemptions == 1 and task.attempts == 2  # killed once, run again whole
    assert task.retry_count == 0  # a preemption is not a failure
    document = json.loads((workdir / "outputs.json").read_text(encoding="utf-8"))
    assert document["succeeded"] is True, document["message"]
    assert document["messages"] == 8647  # PROVENANCE.md: the complete bag, counted once
    visible = [p.name for p in (data / "extracted").iterdir() if not p.name.startswith(".")]
    assert sorted(visible) == ["_claims", "_ledger", "turtlesim"]
    result = data / "extracted" / "turtlesim"
    assert (result / "_SUCCESS").is_file()
    manifest = json.loads((result / "manifest.json").read_text(encoding="utf-8"))
    assert sum(topic["messages"] for topic in manifest["topics"]) == 8647
    ledger = json.loads((data / "extracted" / "_ledger" / "turtlesim.json").read_text())
    assert ledger["status"] == "extracted"
