"""The commands (extract a bag or one shard, merge shards, info), each returning its exit status."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from processor import manifest, report, sync, transforms
from processor.bag import Bag, Stream, open_bag
from processor.errors import BagError, one_line, reason
from processor.extract import (
    BAD_EXAMPLES,
    TopicResult,
    extract_range,
    select_streams,
    skip_undecoded,
)
from processor.info import TopicStats, declared_stats, info_document, info_text
from processor.latched import Message, state_before
from processor.merging import concat_tables, merge_video, move_side_files
from processor.names import VIDEO_FOLDER_SUFFIX, hidden_sibling, output_name_problem
from processor.options import Options
from processor.output import MANIFEST, finish, is_complete, staged_folder, within, write_json
from processor.progress import Progress
from processor.timeslice import TimePoint, Window, outside_note, parse_window, resolve

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_PARTIAL = 0, 1, 2, 3
UNSLICED = Window()


def shards_folder(outdir: Path, name: str) -> Path:
    """Where shard parts wait for `merge`: hidden, beside the bag's final folder."""
    return outdir / hidden_sibling(name, "shards")


def part_folder(outdir: Path, name: str, index: int, count: int) -> Path:
    return shards_folder(outdir, name) / f"{index}-of-{count}"


def shard_range(
    bag: Bag, index: int, count: int, window: Window = UNSLICED
) -> tuple[int | None, int | None]:
    """Shard `index` of `count` (1-based) covers an equal part of the bag's log time, or of
    the `window` (`--start`/`--end`) when one is given.

    The first shard starts where the window does and the last ends where it does: open (None)
    without one, so no message falls outside every shard even if the bag's declared time
    span is slightly off; the shards together cover exactly what one unsharded run does.
    """
    low = bag.start_ns if window.start_ns is None else max(window.start_ns, bag.start_ns)
    high = bag.end_ns if window.end_ns is None else min(window.end_ns, bag.end_ns)
    span = max(high - low, 0)
    start = window.start_ns if index == 1 else low + (index - 1) * span // count
    stop = window.end_ns if index == count else low + index * span // count
    return start, stop


def extract(
    bag_path: Path,
    outdir: Path,
    *,
    options: Options,
    selection: Sequence[str] | None = None,
    strict_topics: bool = True,
    shard: tuple[int, int] | None = None,
    source_url: str | None = None,
) -> int:
    """`selection`: the topics as given on the command line (kept in the manifest).
    `strict_topics`: a selected topic the bag lacks is an error, else it is skipped."""
    first, last = parse_window(options.start, options.end)  # a typo fails before any reading
    with open_bag(bag_path) as bag:
        target = outdir / bag.name
        _refuse_overwriting_input(bag, target)
        streams = select_streams(bag, options.topics, strict=strict_topics)
        synchronized = sync.plan(bag, streams, options, strict=strict_topics)  # errors first
        index, count = shard or (1, 1)
        window, start, stop, state = _time_range(bag, streams, first, last, index, count)
        label = f"processor {bag.name}" + (f" shard {index}/{count}" if shard else "")
        progress = Progress(label, *_bounds(bag, start, stop))
        folder_target = part_folder(outdir, bag.name, index, count) if shard else target
        with staged_folder(folder_target) as folder:
            results = extract_range(bag, streams, folder, options, start, stop, progress, state)
            if not shard:
                skip_undecoded(results, folder)
            document = manifest.build(
                bag,
                options,
                results,
                selection=sorted(selection) if selection else None,
                source_url=source_url,
                complete_range=not shard and not options.sliced,
                window=window if options.sliced else None,
            )
            _record_tf(document, folder, options.format)
            if synchronized is not None and not shard:  # shards: after their merge
                document["sync"] = _synchronize(folder, synchronized, options, results, label)
            if shard:
                document["shard"] = {
                    "index": index,
                    "count": count,
                    "start_ns": start,
                    "stop_ns": stop,
                }
            else:
                _note_empty_slice(document, bag)
                _write_info(folder, bag, results, streams, document)
            finish(folder, document)
    if shard:
        _say(
            f"{label}: part written to {folder_target}; when all {count} parts are: "
            f"python -m processor merge {bag_path} {outdir} --shards {count}"
        )
    else:
        _summarize(label, document, folder_target)
    return _status(document)


def merge(bag_path: Path, outdir: Path, *, count: int) -> int:
    """Combine the `count` shard parts of a bag into its final folder and remove the parts."""
    with open_bag(bag_path) as bag:
        target = outdir / bag.name
        _refuse_overwriting_input(bag, target)
        parts = [part_folder(outdir, bag.name, i, count) for i in range(1, count + 1)]
        if missing := [f"{i}/{count}" for i, p in enumerate(parts, 1) if not is_complete(p)]:
            raise BagError(
                f"{shards_folder(outdir, bag.name)}: shard(s) {', '.join(missing)} "
                f"missing or incomplete; run `extract --shard I/{count}` for them first"
            )
        manifests = [json.loads((p / MANIFEST).read_text(encoding="utf-8")) for p in parts]
        agreed = {
            json.dumps([m.get("options"), m.get("selection"), m.get("source_url")])
            for m in manifests
        }
        counts = {m.get("shard", {}).get("count") for m in manifests}
        if len(agreed) != 1 or counts != {count} or "options" not in manifests[0]:
            raise BagError(
                f"{shards_folder(outdir, bag.name)}: the parts disagree on format, "
                "topics, column names, processor version or shard count; re-run the extract "
                "of every shard"
            )
        options = manifest.options_of(manifests[0])
        window = manifest.window_of(manifests[0])
        with staged_folder(target) as folder:
            results = _combine(parts, manifests, folder, options.format, bag)
            _combine_tf(parts, manifests, folder, options.format)
            document = manifest.build(
                bag,
                options,
                results,
                selection=manifests[0]["selection"],
                source_url=manifests[0]["source_url"],
                complete_range=not options.sliced,
                window=window,
            )
            _record_tf(document, folder, options.format)
            document["shards"] = count
            _note_empty_slice(document, bag)
            # The parts were extracted already: a topic they skipped is skipped here too.
            streams = select_streams(bag, options.topics, strict=False)
            if (synchronized := sync.plan(bag, streams, options, strict=False)) is not None:
                label = f"processor {bag.name}"
                document["sync"] = _synchronize(folder, synchronized, options, results, label)
            _write_info(folder, bag, results, streams, document)
            finish(folder, document)
        shutil.rmtree(shards_folder(outdir, bag.name), ignore_errors=True)
    label = f"processor {bag.name}: merged {count} shards"
    _summarize(label, document, target)
    return _status(document)


def _bounds(bag: Bag, start: int | None, stop: int | None) -> tuple[int, int]:
    """What this run reads of the bag's log time: its progress goes from the one to the other."""
    return (bag.start_ns if start is None else start, bag.end_ns if stop is None else stop)


def _time_range(
    bag: Bag,
    streams: Sequence[Stream],
    first: TimePoint | None,
    last: TimePoint | None,
    index: int,
    count: int,
) -> tuple[Window, int | None, int | None, list[Message]]:
    """The slice, shard `index` of `count` of it ([start, stop)), and the latched state
    written before it: the slice's first shard's only, so the shards add up to one run."""
    window = _window(bag, first, last)
    start, stop = shard_range(bag, index, count, window)
    return window, start, stop, _state(bag, streams, window) if index == 1 else []


def _window(bag: Bag, first: TimePoint | None, last: TimePoint | None) -> Window:
    """The slice in the bag's log time. A bag without messages has no time to slice: its
    output is empty whatever the slice, and the manifest's notes say so."""
    if first is None and last is None:
        return Window()
    if bag.start_ns == bag.end_ns == 0 and not any(s.declared for s in bag.streams):
        return Window()
    return resolve(first, last, bag.start_ns, bag.end_ns)


def _state(bag: Bag, streams: Sequence[Stream], window: Window) -> list[Message]:
    """The latched messages from before the window's start (none without a start)."""
    if window.start_ns is None or window.start_ns <= bag.start_ns:
        return []
    try:  # a start past the bag's end: its state is the bag's last (read back from its end)
        return state_before(bag, streams, min(window.start_ns, bag.end_ns + 1))
    except Exception as err:  # rosbags raises many kinds for damaged files
        raise BagError(
            f"{bag.path}: the bag is damaged and its latched state before --start cannot be "
            f"read ({reason(err)})"
        ) from None


def _note_empty_slice(document: dict[str, Any], bag: Bag) -> None:
    """A slice that holds no message is not an error (a gap in the recording, or a fleet's
    `--start +20` past a short bag's end): the tables are empty, and the manifest's notes
    and stderr say why."""
    if "slice" not in document:
        return
    window = Window(document["slice"]["start_ns"], document["slice"]["end_ns"])
    if (outside := outside_note(window, bag.start_ns, bag.end_ns)) is not None:
        document["notes"].append(outside)
        _say(f"processor {document['bag']}: warning: {outside}")
    within_slice = sum(
        t["messages"] + t["bad_messages"] - t.get("before_start", 0) for t in document["topics"]
    )
    within_slice += sum(t["messages"] for t in document["skipped"])
    if within_slice == 0:
        latched = sum(t.get("before_start", 0) for t in document["topics"])
        note = "no message of the selected topics lies in the slice: " + (
            f"its tables hold only the latched state from before the start "
            f"({report.plural(latched, 'message')})"
            if latched
            else "its tables are empty"
        )
        document["notes"].append(note)
        _say(f"processor {document['bag']}: warning: {note}")


def info(bag_path: Path, *, as_json: bool) -> int:
    with open_bag(bag_path) as bag:
        document = info_document(bag, declared_stats(bag), bag.streams)
    sys.stdout.write(json.dumps(document, indent=2) + "\n" if as_json else info_text(document))
    return EXIT_OK


def _refuse_overwriting_input(bag: Bag, target: Path) -> None:
    if problem := output_name_problem(bag.name):
        raise BagError(
            f"{bag.path}: the output folder is named after the bag ({bag.name!r}), and {problem}; "
            "rename the bag"
        )
    source, destination = bag.path.resolve(), target.resolve()
    if source == destination or destination in source.parents:
        raise BagError(
            f"{target}: the output folder would replace the input bag; choose an "
            "OUTDIR that does not hold the bag under the same name"
        )


def _record_tf(document: dict[str, Any], folder: Path, fmt: str) -> None:
    if (entry := transforms.manifest_entry(folder, fmt)) is not None:
        document["tf"] = entry


def _combine_tf(parts: list[Path], manifests: list[dict[str, Any]], folder: Path, fmt: str) -> None:
    """The parts' transforms tables in shard order, and the frame tree of all of them."""
    sources = [
        within(p, transforms.table_name(fmt))
        for p, m in zip(parts, manifests, strict=True)
        if "tf" in m
    ]
    if not sources:
        return
    within(folder, transforms.FOLDER).mkdir()
    table = within(folder, transforms.table_name(fmt))
    concat_tables(fmt, sources, table)
    transforms.write_tree(folder, transforms.tree_of_table(table, fmt))


def _status(document: dict[str, Any]) -> int:
    return EXIT_PARTIAL if document["status"] == "partial" else EXIT_OK


def _write_info(
    folder: Path,
    bag: Bag,
    results: list[TopicResult],
    streams: Sequence[Stream],
    document: dict[str, Any],
) -> None:
    stats = [
        TopicStats(r.topic, r.msgtype, r.messages + r.bad, r.first_ns, r.last_ns) for r in results
    ]
    info = info_document(
        bag,
        stats,
        streams,
        problems=report.problems(document),
        notes=report.notes(document),
        selected=document["options"]["topics"],
        time_slice=document.get("slice"),
    )
    write_json(folder / "info.json", info)
    (folder / "info.txt").write_text(info_text(info), encoding="utf-8")


def _synchronize(
    folder: Path, plan: sync.Plan, options: Options, results: list[TopicResult], label: str
) -> dict[str, Any]:
    """The synchronized table, with progress lines over the reference topic's time range."""
    reference = next((r for r in results if plan.reference and r.stem == plan.reference.stem), None)
    first = reference.first_ns if reference and reference.first_ns is not None else 0
    last = reference.last_ns if reference and reference.last_ns is not None else first
    return sync.write(folder, plan, options, Progress(f"{label} sync", first, last))


def _summarize(label: str, document: dict[str, Any], target: Path) -> None:
    """The stderr summary of a finished output. The output is marked complete already, so
    nothing here may turn it into a failure: a summary that cannot be made is a warning,
    and the exit status is the manifest's."""
    try:
        lines = [*report.outcome(label, document, target), *_sync_lines(label, document)]
    except Exception as err:
        lines = [
            f"{label}: warning: output complete in {target} (its manifest.json says how), but "
            f"its summary could not be printed ({reason(err)})"
        ]
    _say(*lines)


def _sync_lines(label: str, document: dict[str, Any]) -> list[str]:
    """What the synchronized table holds: rows, and per joined topic how many rows matched."""
    entry = document.get("sync")
    if entry is None:
        return []
    if not entry["files"]:
        return [f"{label}: no synchronized table: {entry['reason']}"]
    seconds = entry["tolerance_ns"] / 1e9
    matched = "; ".join(
        f"{j['topic']} matched {j['matched']}"
        + (f" ({j['unmatched']} null)" if j["unmatched"] else "")
        for j in entry["joined"]
    )
    absent = entry["absent_topics"]
    return [
        f"{label}: synchronized table {entry['files'][0]}: {report.plural(entry['rows'], 'row')} "
        f"of {entry['reference']}, {entry['method']} on {entry['clock']} time within "
        f"{seconds:g} s: {matched or 'nothing joined'}"
        + (f"; not in the bag: {', '.join(absent)}" if absent else "")
    ]


def _say(*lines: str) -> None:
    for line in lines:
        print(one_line(line), file=sys.stderr, flush=True)


def _combine(
    parts: list[Path], manifests: list[dict[str, Any]], folder: Path, fmt: str, bag: Bag
) -> list[TopicResult]:
    """Concatenate each topic's tables in shard order and move its side files."""
    declared: dict[tuple[str, str], int] = {}
    for s in bag.streams:
        declared[(s.topic, s.msgtype)] = declared.get((s.topic, s.msgtype), 0) + s.declared
    results: dict[str, TopicResult] = {}
    sources: dict[str, list[Path]] = {}
    for part, document in zip(parts, manifests, strict=True):
        for entry in [*document["topics"], *document["skipped"]]:
            name = entry["name"]
            result = results.setdefault(
                name,
                TopicResult(
                    entry["topic"],
                    entry["msgtype"],
                    name,
                    declared=declared.get((entry["topic"], entry["msgtype"]), 0),
                    definition=entry.get("definition", ""),
                ),
            )
            result.messages += entry["messages"]
            result.side_files += entry.get("side_files", 0)
            result.columns.update(entry.get("columns", {}))
            result.bad += entry.get("bad_messages", 0)
            result.before_start += entry.get("before_start", 0)
            room = BAD_EXAMPLES - len(result.bad_examples)
            result.bad_examples.extend(entry.get("bad_examples", [])[:room])
            if (video := entry.get("video")) is not None:
                if result.video is None:
                    result.video = {"index": video["index"], "segments": [], "frames": 0}
                result.video["segments"] += video["segments"]
                result.video["frames"] += video["frames"]
            for note in entry.get("notes", []):
                result.notes[note["note"]] = result.notes.get(note["note"], 0) + note["messages"]
            for bound, pick in (("first_ns", min), ("last_ns", max)):
                if (value := entry.get(bound)) is not None:
                    current = getattr(result, bound)
                    setattr(result, bound, value if current is None else pick(current, value))
            if "reason" in entry and result.skip_reason is None:
                result.skip_reason = entry["reason"]
            for file in entry.get("files", []):
                sources.setdefault(file, []).append(within(part, file))
                if file not in result.files:
                    result.files.append(file)
    skip_undecoded(results.values(), folder)  # before any file is written to `folder`
    for result in results.values():
        if result.skip_reason is not None:
            result.files.clear()
            result.side_files = 0
            continue
        for file in result.files:
            if file.endswith(VIDEO_FOLDER_SUFFIX + "/"):
                merge_video(fmt, sources[file], within(folder, file))
            elif file.endswith("/"):
                move_side_files(sources[file], within(folder, file))
            else:
                concat_tables(fmt, sources[file], within(folder, file))
    return sorted(results.values(), key=lambda r: r.stem)
