"""Deterministic Batch ids: the same pipeline run always maps to the same job.

Pure string functions with no Azure imports, so the operations tool (ops/) can
import them to follow a pipeline run's job without installing the Batch SDK.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets

# Batch job and task ids: at most 64 characters, letters, digits, hyphen, underscore.
MAX_ID_LENGTH = 64
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]+")
_VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_JOB_PREFIX = "extract-"
_HASH_LENGTH = 10


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_HASH_LENGTH]


def sanitize(text: str) -> str:
    """Replace every run of characters Batch ids do not allow with one hyphen."""
    return _NOT_ALLOWED.sub("-", text).strip("-")


def is_valid_id(candidate: str) -> bool:
    """Whether Batch accepts `candidate` as a job or task id."""
    return bool(_VALID.match(candidate))


def bounded_id(prefix: str, readable: str, key: str, tail: str = "") -> str:
    """`<prefix><readable>-<hash of key><tail>`, cut to the Batch limit.

    The hash keeps ids distinct when the readable part is truncated or when two
    keys sanitize to the same text.
    """
    suffix = f"-{_digest(key)}{tail}"
    room = MAX_ID_LENGTH - len(prefix) - len(suffix)
    head = sanitize(readable)[:room].rstrip("-")
    return f"{prefix}{head}{suffix}" if head else f"{prefix}{suffix[1:]}"


def job_id_for_run(run_id: str) -> str:
    """The Batch job id of the ADF pipeline run `run_id` (a GUID in practice).

    >>> job_id_for_run("8d6a1f0e-3b8b-4c4e-9a52-0c1d2e3f4a5b")
    'extract-8d6a1f0e-3b8b-4c4e-9a52-0c1d2e3f4a5b'
    """
    cleaned = run_id.strip()
    if not cleaned:
        raise ValueError("run id is empty: pass the ADF pipeline run id (@pipeline().RunId)")
    candidate = _JOB_PREFIX + cleaned
    if is_valid_id(candidate):
        return candidate
    # Not a plain GUID: keep it readable, and unique and bounded through the hash.
    return bounded_id(_JOB_PREFIX, cleaned, cleaned)


def job_id_for_manual_run(
    input_path: str,
    output_path: str,
    output_format: str,
    started: datetime.datetime | None = None,
    nonce: str | None = None,
) -> str:
    """The job id of a run started by hand (no ADF run id): a new job for every run.

    A manual run has no run id to resume by, and a job id made of the request alone would
    name the finished job of the last run with the same paths, so a new bag would never run.
    Bags already extracted cost nothing either way: the plan skips them.

    >>> job_id_for_manual_run("raw", "extracted", "csv",
    ...                       datetime.datetime(2026, 12, 2, 6, 54, 50), "1a2b3c")
    'manual-raw-to-extracted-296aeaf67a-20261202T065450-1a2b3c'
    """
    moment = (started or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%S")
    tail = f"-{moment}-{nonce or secrets.token_hex(3)}"
    key = f"{input_path}\0{output_path}\0{output_format}"
    return bounded_id("manual-", f"{input_path}-to-{output_path}", key, tail=tail)


def task_id(kind: str, bag_key: str, shard: int | None = None) -> str:
    """A task id unique within a job, e.g. `extract-raw-drive-bag-1a2b3c4d5e` or `...-s3`."""
    return bounded_id(f"{kind}-", bag_key, bag_key, tail=f"-s{shard}" if shard else "")
