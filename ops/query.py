"""`python -m ops query "SQL"`: DuckDB over the lake's Delta tables, local or in ADLS Gen2.

Each Delta table is opened by deltalake and registered in DuckDB as an Arrow dataset
(https://duckdb.org/docs/stable/guides/python/sql_on_arrow.html), so DuckDB reads only the
files of the current version and pushes filters down to the partitions. Data tables are named
as in the lake (`sensor_msgs__imu`); the catalog's are `bags` and `topics`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

STORAGE_SCOPE = "https://storage.azure.com/.default"
TABLES_DIR, CATALOG_DIR = "tables", "catalog"
DEFAULT_LAKE = "demo-output/lake"
TokenSource = Callable[[str], str]


def storage_options(lake: str, token: TokenSource | None = None) -> dict[str, str]:
    """deltalake's options for the lake: none for a folder; an Entra ID bearer token for ADLS.

    The token is the signed-in identity's (azure-identity's DefaultAzureCredential: az login,
    a managed identity...), never an account key; `bearer_token` is object_store's Azure
    option (https://docs.rs/object_store/latest/object_store/azure/enum.AzureConfigKey.html).
    """
    parts = urlsplit(lake)
    if not parts.scheme:
        return {}
    if parts.scheme not in ("abfss", "az") or not parts.hostname:
        raise ValueError(
            f"{lake!r}: give a folder or abfss://<container>@<account>.dfs.core.windows.net/lake"
        )
    account = parts.hostname.split(".", 1)[0]
    return {"account_name": account, "bearer_token": (token or _entra_token)(STORAGE_SCOPE)}


def _entra_token(scope: str) -> str:
    from azure.identity import DefaultAzureCredential  # installed with `make setup`

    return DefaultAzureCredential().get_token(scope).token


def _table_uris(lake: str) -> dict[str, str]:
    """Every Delta table of a local lake, by the name SQL uses."""
    found: dict[str, str] = {}
    for folder in (TABLES_DIR, CATALOG_DIR):
        root = Path(lake) / folder
        if root.is_dir():
            for table in sorted(root.iterdir()):
                if (table / "_delta_log").is_dir():
                    found[table.name] = str(table)
    return found


def connect(
    lake: str,
    names: Sequence[str] = (),
    token: TokenSource | None = None,
    extra_options: Mapping[str, str] | None = None,
) -> Any:
    """A DuckDB connection with the lake's tables registered (a cloud lake: `names` only,
    plus the catalog: listing a container needs more than reading it). `extra_options` go to
    deltalake as they are (another endpoint, as the Azurite tests give)."""
    import duckdb
    from deltalake import DeltaTable

    options = storage_options(lake, token)
    if options and extra_options:
        options |= dict(extra_options)
    if options:
        base = lake.rstrip("/")
        uris = {n: f"{base}/{TABLES_DIR}/{n}" for n in names}
        uris |= {n: f"{base}/{CATALOG_DIR}/{n}" for n in ("bags", "topics")}
    else:
        uris = _table_uris(lake)
        if not uris:
            raise ValueError(
                f"no lake at {lake}: it holds no Delta table under {TABLES_DIR}/ or "
                f"{CATALOG_DIR}/; give --lake the folder `orchestrator extract --lake DIR` wrote"
            )
    connection = duckdb.connect()
    for name, uri in uris.items():
        dataset = DeltaTable(uri, storage_options=options or None).to_pyarrow_dataset()
        connection.register(name, dataset)
    return connection


def query(
    lake: str, sql: str, names: Sequence[str] = ()
) -> tuple[list[str], list[tuple[Any, ...]]]:
    result = connect(lake, names).execute(sql)
    return [d[0] for d in result.description], result.fetchall()


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("query", help="SQL (DuckDB) over the lake's Delta tables")
    _arguments(parser)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", help='e.g. "SELECT path, status FROM bags"')
    parser.add_argument(
        "--lake",
        default=DEFAULT_LAKE,
        help="a folder, or abfss://data@<account>.dfs.core.windows.net/lake "
        f"(default: {DEFAULT_LAKE})",
    )
    parser.add_argument(
        "--table", action="append", default=[], help="cloud lake: a data table to register"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per row")


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops query")
    _arguments(parser)
    args = parser.parse_args(argv)
    return run(args, stdout or sys.stdout)


def run(args: argparse.Namespace, out: TextIO) -> int:
    try:
        columns, rows = query(args.lake, args.sql, args.table)
    except Exception as error:  # duckdb and deltalake errors: one line, not a traceback
        print(f"ops query: {error}", file=sys.stderr)
        return 1
    if args.json:
        for row in rows:
            print(json.dumps(dict(zip(columns, row, strict=True)), default=str), file=out)
        return 0
    print("\t".join(columns), file=out)
    for row in rows:
        print("\t".join("" if v is None else str(v) for v in row), file=out)
    return 0
