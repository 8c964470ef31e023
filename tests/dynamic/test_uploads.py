"""Uploads to URLs Azure hands out: a SAS is used as it is; without one, the deployer's Entra ID
token, waiting for a role assignment made moments ago (the provider's own retry, as plain
Python with a stand-in blob client)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from infra.dynamic import _azure as az


class _NotYetAuthorized(HttpResponseError):
    def __init__(self) -> None:
        super().__init__(message="This request is not authorized to perform this operation.")
        self.status_code = 403
        self.error_code = "AuthorizationPermissionMismatch"


class _FlakyBlob:
    """A blob that refuses the first `refusals` uploads as a role that is not yet applied does."""

    account_name = "rbdevbatch123"

    def __init__(self, refusals: int) -> None:
        self.refusals, self.uploads, self.data = refusals, 0, b""

    def upload_blob(self, data: Any, overwrite: bool, length: int) -> None:
        self.uploads += 1
        if self.uploads <= self.refusals:
            raise _NotYetAuthorized()
        self.data = data.read()

    def get_blob_properties(self) -> Any:
        return type("Properties", (), {"size": len(self.data)})()


@pytest.mark.parametrize("refusals, succeeds", [(2, True), (1000, False)])
def test_an_upload_waits_for_a_fresh_role_assignment_then_gives_up_naming_the_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusals: int, succeeds: bool
) -> None:
    blob = _FlakyBlob(refusals)

    @contextmanager
    def flaky_client(url: str) -> Iterator[_FlakyBlob]:
        yield blob

    monkeypatch.setattr(az, "blob_client", flaky_client)
    path = tmp_path / "package.zip"
    path.write_bytes(b"PK" + b"\0" * 100)
    url = "https://rbdevbatch123.blob.core.windows.net/app-packages/p.zip"
    if succeeds:
        assert az.upload_file(url, path, wait_seconds=5, retry_seconds=0.01) == 102
        assert blob.uploads == 3
    else:
        with pytest.raises(TimeoutError, match="Storage Blob Data Contributor"):
            az.upload_file(url, path, wait_seconds=0.05, retry_seconds=0.01)


def test_a_refused_sas_upload_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blob = _FlakyBlob(1)

    @contextmanager
    def flaky_client(url: str) -> Iterator[_FlakyBlob]:
        yield blob

    monkeypatch.setattr(az, "blob_client", flaky_client)
    path = tmp_path / "package.zip"
    path.write_bytes(b"PK")
    with pytest.raises(HttpResponseError):
        az.upload_file("https://a.blob.core.windows.net/c/p.zip?sv=1&sig=abc", path)
    assert blob.uploads == 1
