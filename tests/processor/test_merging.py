"""Merging CSV parts appends each part's rows after one header, whichever way the kernel
lets the bytes be copied (copy_file_range, sendfile, or through Python)."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from processor.merging import concat_tables


def _parts(folder: Path) -> list[Path]:
    parts = []
    for index, rows in enumerate([["1,a", "2,b"], [], ["3," + "x" * 70_000, "4,d"]]):
        part = folder / f"part{index}.csv"
        part.write_text('"n","s"\n' + "".join(row + "\n" for row in rows), encoding="utf-8")
        parts.append(part)
    return parts


EXPECTED = '"n","s"\n1,a\n2,b\n3,' + "x" * 70_000 + "\n4,d\n"


def _refuse(*_: Any) -> int:
    raise OSError(errno.EXDEV, "cross-device")


@pytest.mark.parametrize(
    "refused", [(), ("copy_file_range",), ("copy_file_range", "sendfile")], ids=str
)
def test_csv_parts_concatenate_under_one_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refused: tuple[str, ...]
) -> None:
    for name in refused:
        monkeypatch.setattr(os, name, _refuse)
    target = tmp_path / "merged.csv"

    concat_tables("csv", _parts(tmp_path), target)

    assert target.read_text(encoding="utf-8") == EXPECTED


def test_an_error_other_than_unsupported_is_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", full)
    with pytest.raises(OSError, match="No space"):
        concat_tables("csv", _parts(tmp_path), tmp_path / "merged.csv")
