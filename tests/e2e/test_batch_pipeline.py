"""The ADF-started run end to end: activity.json, the batch executor through the real SDK,
the fake Batch service running the real processor on real bags, outputs.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.query import connect
from orchestrator.cli import main
from orchestrator.ids import job_id_for_run
from tests.dynamic.azurite import Azurite, entra_token
from tests.lakehouse.fake_imds import running_imds
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


def test_an_adf_run_commits_its_lake_over_abfss_as_the_orchestrator_identity(
    batch: FakeBatchService,
    azurite: Azurite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """lakePath from activity.json: Delta tables and catalog in the data lake container, through
    the Blob API with the node identity's token (the fake IMDS answers for the client id ADF
    passes; Azurite checks the token), the reports through the mount; then `ops query` reads
    the cloud lake with an Entra ID token and its counts are the manifests'."""
    data = tmp_path / "fsmounts" / "data"
    copy_bags(data / "raw" / "2026", ["magnetic-temperature.bag", "gps-navsatfix.bag"])
    (data / "raw" / "broken.bag").write_bytes(b"not a bag at all")
    workdir = tmp_path / "wd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(tmp_path / "fsmounts"))
    monkeypatch.setenv("SSL_CERT_FILE", azurite.ca_file)  # deltalake trusts Azurite's CA
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    container = f"lake{tmp_path.name[-8:]}".lower().replace("_", "")
    azurite.ensure_container(container)
    client_id = "0b0c0d0e-0000-4000-8000-00000000abcd"
    write_activity(
        workdir,
        batchAccountEndpoint=batch.url,
        runId="adf-run-lake",
        dataLakeUrl=f"https://devstoreaccount1.blob.core.windows.net/{container}",
        lakePath="lake/",
        orchestratorIdentityClientId=client_id,
    )

    with running_imds() as imds:
        code = main(
            ["extract", "--poll-seconds", "0.1"],
            credential=FakeCredential(),
            batch_client_options={"connection_verify": batch.ca_file},
            lake_storage_options={
                "azure_storage_endpoint": azurite.endpoint,
                "azure_msi_endpoint": imds.endpoint,
            },
        )

    assert code == 0
    document = json.loads((workdir / "outputs.json").read_text(encoding="utf-8"))
    lake = document["lake"]
    assert lake["lake"] == f"abfss://{container}@devstoreaccount1.dfs.core.windows.net/lake"
    assert lake["bags"] == 2 and set(lake["tables"]) >= {"sensor_msgs__navsatfix"}
    # The node's identity asked for a storage token, by the client id ADF passed.
    assert imds.requests and {r.get("client_id") for r in imds.requests} == {client_id}
    assert {r["resource"] for r in imds.requests} == {"https://storage.azure.com"}
    blobs = [b.name for b in azurite.service().get_container_client(container).list_blobs()]
    assert "lake/catalog/bags/_delta_log/00000000000000000000.json" in blobs
    assert all(b.startswith("lake/") for b in blobs)  # nothing outside the lake's folder
    # The reports: static files beside the tables, written through the data lake's mount.
    index = (data / "lake" / "reports" / "index.html").read_text(encoding="utf-8")
    assert "raw/broken.bag" in index and "gps-navsatfix" in index

    token, _ = entra_token("https://storage.azure.com", "object-of-a-reader")
    connection = connect(
        lake["lake"],
        ["sensor_msgs__navsatfix"],
        token=lambda _scope: token,
        extra_options={"azure_storage_endpoint": azurite.endpoint},
    )
    rows = dict(connection.execute("SELECT path, status FROM bags").fetchall())
    assert rows == {
        "raw/2026/magnetic-temperature.bag": "succeeded",
        "raw/2026/gps-navsatfix.bag": "succeeded",
        "raw/broken.bag": "failed",
    }
    [(fixes,)] = connection.execute("SELECT count(*) FROM sensor_msgs__navsatfix").fetchall()
    manifest = json.loads(
        (data / "extracted" / "2026" / "gps-navsatfix" / "manifest.json").read_text("utf-8")
    )
    expected = sum(
        t["messages"] for t in manifest["topics"] if t["msgtype"] == "sensor_msgs/msg/NavSatFix"
    )
    assert fixes == expected > 0
