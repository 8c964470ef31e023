"""Where an Azure run's lake is: the abfss:// URL made from the data lake URL ADF passes, the
node identity's options, the reports through the mount; bad settings are one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath

import pytest

from orchestrator.cli import EXIT_USAGE, main
from orchestrator.lakehouse.location import (
    LakeLocationError,
    abfss_url,
    azure_lake,
    managed_identity_options,
)
from tests.orchestrator.helpers import write_activity

BAGS = Path(__file__).parents[1] / "data" / "bags"


def test_the_blob_url_of_the_container_becomes_the_lakes_abfss_url() -> None:
    url = abfss_url("https://dlrosbag.blob.core.windows.net/data", PurePosixPath("lake"))
    assert url == "abfss://data@dlrosbag.dfs.core.windows.net/lake"
    sovereign = abfss_url("https://acct.blob.core.chinacloudapi.cn/data/", PurePosixPath("x/y"))
    assert sovereign == "abfss://data@acct.dfs.core.chinacloudapi.cn/x/y"


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "http://a.blob.core.windows.net/data",
        "https://a.dfs.core.windows.net/data",
        "https://a.blob.core.windows.net/",
        "https://a.blob.core.windows.net/data/raw",
    ],
)
def test_a_data_lake_url_that_is_not_a_container_is_refused(bad: str) -> None:
    with pytest.raises(LakeLocationError, match="dataLakeUrl"):
        abfss_url(bad, PurePosixPath("lake"))


def test_the_node_identity_signs_in_by_its_client_id_and_no_key(tmp_path: Path) -> None:
    assert managed_identity_options("cid") == {"azure_client_id": "cid"}
    target = azure_lake(
        "https://acct.blob.core.windows.net/data", PurePosixPath("lake"), "cid", tmp_path
    )
    assert target.storage_options == {"azure_client_id": "cid"}
    assert not any("key" in k or "secret" in k for k in target.storage_options or {})
    assert target.reports == str(tmp_path / "lake" / "reports")
    assert not target.is_local


def test_a_lake_path_without_a_data_lake_url_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fsmounts" / "data" / "raw").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(tmp_path / "fsmounts"))
    write_activity(tmp_path, lakePath="lake/", dataLakeUrl="")

    assert main(["extract"]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert "dataLakeUrl '' is not https://" in error and len(error.strip().splitlines()) == 1
    outputs = json.loads((tmp_path / "outputs.json").read_text(encoding="utf-8"))
    assert outputs["succeeded"] is False and "dataLakeUrl" in outputs["message"]


def test_a_lake_path_leaving_the_container_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "fsmounts" / "data" / "raw").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(tmp_path / "fsmounts"))
    write_activity(
        tmp_path, lakePath="../lake/", dataLakeUrl="https://a.blob.core.windows.net/data"
    )

    assert main(["extract"]) == EXIT_USAGE
    assert "leaves the data lake container" in capsys.readouterr().err


def test_a_lake_commit_that_fails_is_reported_and_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bags' outputs stand; outputs.json says why nothing was committed (ADF then fails the
    pipeline through its If Condition), and the note says to rerun."""
    raw = tmp_path / "raw"
    raw.mkdir()
    shutil.copy(BAGS / "gps-navsatfix.bag", raw / "gps.bag")
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.chdir(tmp_path)
    write_activity(tmp_path, inputPath="raw/", outputPath="out/")
    argv = ["extract", "--executor", "local", "--activity", "activity.json", "--input", "raw"]
    lake = tmp_path / "not-a-folder" / "lake"

    assert main([*argv, "--output", "out", "--lake", str(lake)]) == 0

    document = json.loads((tmp_path / "outputs.json").read_text(encoding="utf-8"))
    assert document["succeeded"] is False
    assert document["lake"]["lake"] == str(lake)
    assert "nothing committed" in document["lake"]["error"]
    assert document["message"] == document["lake"]["error"]
    assert (tmp_path / "out" / "gps" / "_SUCCESS").is_file()
    assert "rerun to commit it" in capsys.readouterr().err


@pytest.mark.parametrize("outside", ["lakehouse/", "raw/lake", "extracted"])
def test_a_lake_path_outside_lake_is_a_usage_error_naming_the_fix(
    outside: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The orchestrator identity's write role on the lake is ABAC-limited to names.LAKE_PATH
    # (): anywhere else its commit would fail with 403.
    (tmp_path / "fsmounts" / "data" / "raw").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AZ_BATCH_NODE_MOUNTS_DIR", str(tmp_path / "fsmounts"))
    write_activity(tmp_path, lakePath=outside, dataLakeUrl="https://a.blob.core.windows.net/data")

    assert main(["extract"]) == EXIT_USAGE
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert f"{outside.rstrip('/')!r} is not inside lake/" in error and "lakePath" in error


def test_the_lake_folder_the_orchestrator_allows_is_the_one_infra_grants() -> None:
    from infra import names
    from orchestrator.lakehouse.location import LAKE_FOLDER

    assert f"{LAKE_FOLDER}/" == names.LAKE_PATH


def test_a_lake_path_below_lake_is_allowed(tmp_path: Path) -> None:
    target = azure_lake(
        "https://acct.blob.core.windows.net/data", PurePosixPath("lake/team"), "cid", tmp_path
    )
    assert target.root == "abfss://data@acct.dfs.core.windows.net/lake/team"
