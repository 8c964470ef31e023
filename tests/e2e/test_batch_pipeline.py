"""The ADF-started run end to end: activity.json, the batch executor through the real SDK,
the fake Batch service running the real processor on real bags, outputs.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.cli import main
from orchestrator.ids import job_id_for_run
from tests.orchestrator.fake_batch import FakeBatchService, FakeCredential
from tests.orchestrator.helpers import GOOD_BAGS, copy_bags, write_activity

pytestmark = pytest.mark.slow


def test_adf_run_extracts_real_bags_on_the_fake_batch_service(
    batch: FakeBatchService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "fsmounts" / "data"
    copy_bags(data / "raw" / "2026" / "run-7", GOOD_BAGS)
    (data / "raw" / "broken.bag").write_bytes(b"not a bag at all")
    workdir = tmp_path / "wd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(tmp_path / "fsmounts"))
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    write_activity(workdir, batchAccountEndpoint=batch.url, runId="adf-run-0001", format="csv")

    code = main(
        ["extract", "--poll-seconds", "0.1"],
        credential=FakeCredential(),
        batch_client_options={"connection_verify": batch.ca_file},
    )

    assert code == 0  # reported; broken.bag failed, which outputs.json says
    document = json.loads((workdir / "outputs.json").read_text(encoding="utf-8"))
    assert document["succeeded"] is False
    assert document["message"].startswith("1 of 8 bags failed: raw/broken.bag: exit 2")
    assert document["jobId"] == job_id_for_run("adf-run-0001")
    assert document["bags"]["succeeded"] == 7 and document["bags"]["failed"] == 1
    assert document["messages"] == 14969  # the sum over PROVENANCE.md's counts
    failed = document["results"][0]
    assert failed["bag"] == "raw/broken.bag" and failed["exitCode"] == 2
    assert "not a readable bag" in failed["reason"]
    assert (data / "extracted" / "2026" / "run-7" / "turtlesim" / "_SUCCESS").is_file()


def test_the_real_processor_records_each_bags_data_lake_url(
    batch: FakeBatchService, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "fsmounts" / "data"
    copy_bags(data / "raw" / "2026", ["magnetic-temperature.bag"])
    workdir = tmp_path / "wd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(tmp_path / "fsmounts"))
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    lake = "https://dlrosbag.blob.core.windows.net/data"
    write_activity(workdir, batchAccountEndpoint=batch.url, dataLakeUrl=lake)

    code = main(
        ["extract", "--poll-seconds", "0.1"],
        credential=FakeCredential(),
        batch_client_options={"connection_verify": batch.ca_file},
    )

    assert code == 0
    result = data / "extracted" / "2026" / "magnetic-temperature"
    manifest = json.loads((result / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["source_url"] == f"{lake}/raw/2026/magnetic-temperature.bag"
    assert manifest["source"].endswith("/data/raw/2026/magnetic-temperature.bag")  # the node's
