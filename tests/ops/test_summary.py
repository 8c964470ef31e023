"""The bag section of `ops run`'s summary, from outputs.json as the orchestrator writes it."""

from __future__ import annotations

from pathlib import PurePosixPath

from ops.cloud import cloud_endpoints
from ops.run_state import ActivityState, RunResult, Verdict
from ops.stack_outputs import StackOutputs
from ops.summary import render_summary
from orchestrator.adf import outputs_document
from orchestrator.outcome import BagResult, BagStatus, OutputCounts
from tests.ops.helpers import stack_outputs


def summary_of(*results: BagResult) -> str:
    custom = outputs_document("extract-run", "extracted", list(results), timed_out=False)
    result = RunResult(
        run_id="run",
        verdict=Verdict.SUCCEEDED,
        pipeline_status="Succeeded",
        message="",
        duration_seconds=1.0,
        parameters={"inputPath": "raw/"},
        job_id="extract-run",
        activities=(
            ActivityState("run-orchestrator", "Succeeded", output={"customOutput": custom}),
        ),
    )
    outputs = StackOutputs.from_mapping(stack_outputs("https://batch.example"), "test")
    return render_summary(result, outputs, cloud_endpoints())


def test_counts_the_orchestrator_could_not_read_show_as_unknown_not_zero() -> None:
    read = BagResult(
        PurePosixPath("raw/a.bag"), BagStatus.SUCCEEDED, PurePosixPath("extracted/a"),
        OutputCounts(topics=2, messages=1200, files=2),
    )  # fmt: skip
    unread = BagResult(
        PurePosixPath("raw/b.bag"), BagStatus.SUCCEEDED, PurePosixPath("extracted/b"),
        OutputCounts(known=False),
    )  # fmt: skip

    rows = [line.split() for line in summary_of(read, unread).splitlines() if "-> https" in line]

    assert rows[0][:3] == ["succeeded", "2", "1,200"]
    assert rows[1][:3] == ["succeeded", "?", "?"]
    assert "1 bag with counts not read in time" in summary_of(read, unread)


def test_a_partial_bag_shows_its_skipped_topics_and_why() -> None:
    partial = BagResult(
        PurePosixPath("raw/e.bag"), BagStatus.PARTIAL, PurePosixPath("extracted/e"),
        OutputCounts(topics=0, messages=0, skipped=(("/led", "empty definition"),)),
    )  # fmt: skip

    text = summary_of(partial)

    assert "! 1 topic skipped (/led)" in text
    assert "/led: empty definition" in text


def test_bags_never_started_are_counted_as_such() -> None:
    never = BagResult(
        PurePosixPath("raw/n.bag"), BagStatus.NOT_RUN, PurePosixPath("extracted/n"), OutputCounts()
    )

    assert "(1 not started)" in summary_of(never)
