"""`ops query`: the storage options for a cloud lake (Entra ID, never a key) and the CLI."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ops.query import main, storage_options
from scripts.bench_lake_commit import bench


def test_a_folder_needs_no_options() -> None:
    assert storage_options("demo-output/lake") == {}


def test_adls_gets_an_entra_id_token_for_storage() -> None:
    scopes: list[str] = []

    def token(scope: str) -> str:
        scopes.append(scope)
        return "eyJ.token"

    options = storage_options("abfss://data@lakeacct.dfs.core.windows.net/lake", token)
    assert options == {"account_name": "lakeacct", "bearer_token": "eyJ.token"}
    assert scopes == ["https://storage.azure.com/.default"]
    assert not any("key" in k for k in options)


@pytest.mark.parametrize("bad", ["https://x.blob.core.windows.net/data", "s3://bucket/lake"])
def test_other_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="abfss://"):
        storage_options(bad, lambda _: "t")


def test_query_prints_rows(tmp_path: Path) -> None:
    bench(tmp_path, bags=3, rows=4)
    out = io.StringIO()
    sql = "SELECT count(*) AS n, count(DISTINCT bag_id) AS bags FROM sensor_msgs__imu"
    assert main(["--lake", str(tmp_path / "lake"), sql], stdout=out) == 0
    assert out.getvalue().splitlines() == ["n\tbags", "12\t3"]
    assert main(["--lake", str(tmp_path / "lake"), "SELECT * FROM nowhere"]) == 1


def test_a_folder_with_no_lake_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A typo in --lake used to give DuckDB's "Table with name bags does not exist" (review C).
    assert main(["--lake", str(tmp_path / "demo-outptu" / "lake"), "SELECT * FROM bags"]) == 1
    err = capsys.readouterr().err
    assert f"no lake at {tmp_path / 'demo-outptu' / 'lake'}" in err and "--lake" in err
