"""The retry policy: verdicts never run again, other failures twice more, held merges ended."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from orchestrator.discovery import Bag
from orchestrator.executors.retries import RETRIES_METADATA, RetryBook
from orchestrator.outcome import TaskOutcome
from orchestrator.plan import PlanOptions, build_plan


def sharded_plan_book() -> tuple[RetryBook, list[str], str]:
    bag = Bag(PurePosixPath("raw/big.bag"), 250, PurePosixPath())
    plan = build_plan(
        "job", PurePosixPath("raw"), PurePosixPath("extracted"), [bag],
        PlanOptions(shard_size_bytes=100),
    )  # fmt: skip
    *shards, merge = plan.tasks
    return RetryBook.for_tasks(plan.tasks), [shard.id for shard in shards], merge.id


def test_verdicts_are_final_and_release_their_dependants() -> None:
    book, shards, _ = sharded_plan_book()
    for code in (0, 2, 3):
        outcome = TaskOutcome(shards[0], code)
        assert not book.should_retry(outcome)
        assert book.record_final(outcome) == []


def test_other_failures_are_retried_up_to_the_limit_then_end_what_waits_for_them() -> None:
    book, shards, merge = sharded_plan_book()
    for outcome in (
        TaskOutcome(shards[1], 1),
        TaskOutcome(shards[1], None),
        TaskOutcome(shards[1], -9),
    ):
        assert book.should_retry(outcome)
    book.record_retry(shards[1])
    book.record_retry(shards[1])

    assert not book.should_retry(TaskOutcome(shards[1], 1))
    assert book.record_final(TaskOutcome(shards[1], 1)) == [merge]
    # The ended merge's own failure is final: it is not run again.
    assert not book.should_retry(TaskOutcome(merge, None))
    assert book.record_final(TaskOutcome(shards[2], 1)) == []  # the merge is already ended


def test_the_reactivations_survive_in_the_jobs_metadata() -> None:
    book = RetryBook()
    book.record_retry("a")
    book.record_retry("a")
    resumed = RetryBook()
    resumed.resume({RETRIES_METADATA: book.recorded()})
    assert resumed.retried == {"a": 2}


@pytest.mark.parametrize("value", ["not json", "[1, 2]", '{"a": "two", "3": 1}', ""])
def test_unreadable_recorded_reactivations_count_as_none(value: str) -> None:
    book = RetryBook()
    book.resume({RETRIES_METADATA: value})
    assert book.retried == ({"3": 1} if value.startswith("{") else {})
