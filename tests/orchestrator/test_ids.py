"""Job and task ids: deterministic, valid for Batch, distinct where they must be."""

from __future__ import annotations

import datetime

import pytest

from orchestrator.ids import (
    MAX_ID_LENGTH,
    is_valid_id,
    job_id_for_manual_run,
    job_id_for_run,
    task_id,
)


def test_run_guid_gives_a_readable_stable_job_id() -> None:
    run_id = "8d6a1f0e-3b8b-4c4e-9a52-0c1d2e3f4a5b"
    assert job_id_for_run(run_id) == f"extract-{run_id}"
    assert job_id_for_run(f" {run_id}\n") == job_id_for_run(run_id)


@pytest.mark.parametrize(
    "run_id",
    ["x" * 200, "run id with spaces/and:colons", "ünïcödé-run", "a.b.c", "-leading-hyphen"],
)
def test_any_run_id_gives_a_valid_job_id(run_id: str) -> None:
    job_id = job_id_for_run(run_id)
    assert is_valid_id(job_id), job_id
    assert len(job_id) <= MAX_ID_LENGTH
    assert job_id == job_id_for_run(run_id)


def test_run_ids_that_sanitize_alike_stay_distinct() -> None:
    assert job_id_for_run("run/1") != job_id_for_run("run:1")
    assert job_id_for_run("x" * 100 + "a") != job_id_for_run("x" * 100 + "b")


def test_empty_run_id_is_refused() -> None:
    with pytest.raises(ValueError, match="run id is empty"):
        job_id_for_run("  ")


def test_manual_job_id_depends_on_the_whole_request_and_the_moment() -> None:
    moment = datetime.datetime(2026, 12, 2, 6, 54, 50)
    base = job_id_for_manual_run("raw/", "extracted/", "csv", moment, "abc123")
    assert base == job_id_for_manual_run("raw/", "extracted/", "csv", moment, "abc123")
    assert base != job_id_for_manual_run("raw/", "extracted/", "parquet", moment, "abc123")
    assert base != job_id_for_manual_run("raw/2026/", "extracted/", "csv", moment, "abc123")
    later = moment + datetime.timedelta(seconds=1)
    assert base != job_id_for_manual_run("raw/", "extracted/", "csv", later, "abc123")
    assert is_valid_id(base) and base.endswith("-20261202T065450-abc123")


def test_two_manual_runs_never_share_a_job() -> None:
    ids = {job_id_for_manual_run("raw/" * 30, "extracted/", "csv") for _ in range(50)}
    assert len(ids) == 50
    assert all(is_valid_id(value) for value in ids)


def test_task_ids_are_valid_and_distinct_for_long_and_similar_names() -> None:
    long_name = "raw/" + "very-long-folder-name/" * 10 + "drive.bag"
    ids = {
        task_id("extract", long_name),
        task_id("extract", long_name.replace("drive", "Drive")),  # Batch ids ignore case
        task_id("extract", "raw/a b.bag"),
        task_id("extract", "raw/a_b.bag"),
        *(task_id("shard", long_name, shard=index) for index in range(1, 17)),
    }
    assert len({value.lower() for value in ids}) == 20
    assert all(is_valid_id(value) for value in ids)
    assert task_id("shard", long_name, shard=16).endswith("-s16")
