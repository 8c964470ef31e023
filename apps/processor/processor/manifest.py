"""manifest.json: what was written, what was not and why, and the options that made it
(docs/processor.md, "manifest.json"; docs/contracts.md §2 for the fields others read)."""

from __future__ import annotations

from typing import Any

from processor import __version__
from processor.bag import Bag
from processor.extract import TopicResult, absent_topics, as_manifest_topics
from processor.options import Options, SyncOptions, slashed
from processor.timeslice import Window


def options_record(options: Options) -> dict[str, Any]:
    """Everything that shapes the output, comparable as a whole: an output whose `options`
    differ from a run's (or has none: before 0.2.0) is not that run's output.
    `start` and `end` (the slice, as given) are there only when given: an unsliced output's
    record is what it was before slices existed."""
    record: dict[str, Any] = {
        "format": options.format,
        "topics": list(options.topics) if options.topics is not None else None,
        "column_names": options.column_names,
        "video": options.video,
        "point_clouds": options.point_clouds,
        "processor_version": __version__,
    }
    if options.sync is not None:  # only then: outputs without --sync keep their manifests
        record["sync"] = options.sync.record()
    if options.sliced:
        record["start"] = options.start
        record["end"] = options.end
    return record


def options_of(document: dict[str, Any]) -> Options:
    """The options a manifest (of a shard part) was written with."""
    record = document["options"]
    topics = record["topics"]
    sync = SyncOptions.from_record(record["sync"]) if record.get("sync") else None
    return Options(
        record["format"],
        tuple(topics) if topics else None,
        record["column_names"],
        sync,
        start=record.get("start"),
        end=record.get("end"),
        video=bool(record.get("video", False)),
        point_clouds=record.get("point_clouds", "parquet"),
    )


def build(
    bag: Bag,
    options: Options,
    results: list[TopicResult],
    *,
    selection: list[str] | None,
    source_url: str | None,
    complete_range: bool,
    window: Window | None = None,
) -> dict[str, Any]:
    """`window`: the slice's log-time range, when `--start`/`--end` was given."""
    entries, skipped = as_manifest_topics(results)
    bad = sum(r.bad for r in results)
    if complete_range:
        skipped.extend(_shortfall(bag, results, options))
    document = {
        "bag": bag.name,
        "source": str(bag.path),
        "source_url": source_url,
        "format": options.format,
        "options": options_record(options),
        "status": "partial" if skipped or bad else "complete",
        "messages": sum(e["messages"] for e in entries),
        "bad_messages": bad,
        "declared_messages": sum(r.declared for r in results),
        "start_ns": bag.start_ns,
        "end_ns": bag.end_ns,
        "selection": selection,
        # Requested topics this bag lacks (`--missing-topics skip`), and every topic it has:
        # what the orchestrator needs to tell a bag without them from a mistyped topic.
        "absent_topics": absent_topics(bag, options.topics),
        "bag_topics": sorted({s.topic for s in bag.streams}),
        "topics": entries,
        "skipped": skipped,
        "notes": list(bag.notes),
        "processor_version": __version__,
    }
    if window is not None:
        document["slice"] = slice_record(options, window)
    return document


def slice_record(options: Options, window: Window) -> dict[str, Any]:
    """The slice as given and as the bag's log time (`end_ns` excluded; None: open)."""
    return {
        "start": options.start,
        "end": options.end,
        "start_ns": window.start_ns,
        "end_ns": window.end_ns,
    }


def window_of(document: dict[str, Any]) -> Window | None:
    """The slice a manifest (of a shard part) was written for; None if it has none."""
    record = document.get("slice")
    if not isinstance(record, dict):
        return None
    return Window(record["start_ns"], record["end_ns"])


def _shortfall(bag: Bag, results: list[TopicResult], options: Options) -> list[dict[str, Any]]:
    """Faithful or loud: a topic that yielded fewer messages than the bag declares is
    reported, whatever the reader's reason for stopping short."""
    shortfall = []
    for r in results:
        if (read := r.messages + r.bad) < r.declared:
            shortfall.append(
                {
                    "topic": r.topic,
                    "msgtype": r.msgtype,
                    "messages": r.declared - read,
                    "reason": f"the bag declares {r.declared} messages but only {read} "
                    "could be read",
                }
            )
    # ROS 2 folders read without their metadata.yaml: it may declare more than storage holds.
    for topic, (msgtype, declared) in sorted(bag.metadata_counts.items()):
        if options.topics is not None and slashed(topic) not in options.topics:
            continue
        held = sum(r.messages + r.bad for r in results if r.topic == topic)
        if held < declared:
            shortfall.append(
                {
                    "topic": topic,
                    "msgtype": msgtype,
                    "messages": declared - held,
                    "reason": f"metadata.yaml declares {declared} messages but the storage files "
                    f"hold {held}",
                }
            )
    return shortfall
