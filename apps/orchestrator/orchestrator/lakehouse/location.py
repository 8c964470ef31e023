"""Where a run's lake is: a local folder, or the data lake's `lake/` folder on Azure.

On Azure the orchestrator commits through deltalake's object store over HTTPS (`abfss://`), not
through the NFS mount of the data lake: Delta's commit is a put-if-absent of the next log entry,
which deltalake's local file system does with a hard link (object_store src/local.rs,
`PutMode::Create => std::fs::hard_link`), and Blob storage's NFS 3.0 does not support hard links
(learn.microsoft.com/azure/storage/blobs/network-file-system-protocol-known-issues, "NFS 3.0
features"). The Blob REST API has a conditional put (`If-None-Match: *`) that object_store uses
for it (docs/azure-behaviour.md, "Lakehouse"). The static reports need no such thing: they are
written through the mount, as the processor writes the extracted zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from orchestrator.lakehouse.delta import Target

REPORTS_DIR = "reports"
# The only folder of the data lake the orchestrator identity may write: its role assignment's
# ABAC condition names infra/names.py LAKE_PATH (pinned equal by tests/lakehouse/
# test_location.py), so a lake elsewhere would fail its first commit with 403.
LAKE_FOLDER = "lake"


class LakeLocationError(ValueError):
    """A lake location that cannot be used (the message names it and the fix)."""


def abfss_url(data_lake_url: str, lake_path: PurePosixPath) -> str:
    """`https://<account>.blob.core.windows.net/<container>` and `lake` ->
    `abfss://<container>@<account>.dfs.core.windows.net/lake` (the form Spark reads too)."""
    parts = urlsplit(data_lake_url.strip())
    host = parts.hostname or ""
    container = parts.path.strip("/")
    if parts.scheme != "https" or ".blob." not in host or not container or "/" in container:
        raise LakeLocationError(
            f"dataLakeUrl {data_lake_url!r} is not https://<account>.blob.core.windows.net/"
            "<container>: the lake's abfss:// URL is made from it; redeploy the pipeline "
            "(`pulumi up`)"
        )
    account, _, suffix = host.partition(".blob.")
    return f"abfss://{container}@{account}.dfs.{suffix}/{lake_path.as_posix().strip('/')}"


def managed_identity_options(client_id: str) -> dict[str, str]:
    """deltalake's Azure options for the node's user-assigned identity: with no key, token or
    secret given, object_store asks the instance metadata service for a token of the identity
    `azure_client_id` names, and refreshes it (object_store src/azure/builder.rs, `build`:
    `ImdsManagedIdentityProvider`)."""
    return {"azure_client_id": client_id}


def azure_lake(
    data_lake_url: str,
    lake_path: PurePosixPath,
    client_id: str,
    data_root: Path,
    extra_options: Mapping[str, str] | None = None,
) -> Target:
    """The data lake's `lake_path` folder: Delta over abfss://, reports through the mount."""
    if not lake_path.parts:
        raise LakeLocationError("lakePath is empty: give the lake's folder, such as lake/")
    if lake_path.parts[0] != LAKE_FOLDER:
        raise LakeLocationError(
            f"lakePath {lake_path.as_posix()!r} is not inside {LAKE_FOLDER}/: the orchestrator "
            f"may write only there (its role is limited to {LAKE_FOLDER}/, elsewhere a commit "
            f"gets 403); use lakePath (or --lake) {LAKE_FOLDER}/ or a folder below it"
        )
    options = {**managed_identity_options(client_id), **(extra_options or {})}
    return Target(
        abfss_url(data_lake_url, lake_path),
        options,
        reports_dir=str(data_root / lake_path / REPORTS_DIR),
    )
