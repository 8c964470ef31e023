"""Command line: `python -m processor extract|merge|info` (docs/contracts.md §2)."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path

from processor import run
from processor.errors import BagError, one_line
from processor.options import (
    COLUMN_NAMES,
    DEFAULT_SYNC_TOLERANCE,
    FORMATS,
    POINT_CLOUDS,
    SYNC_CLOCKS,
    SYNC_METHODS,
    Options,
    SyncOptions,
    normalized_topics,
    slashed,
    tolerance_ns,
)


def _shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N with 1 <= I <= N (e.g. 2/4)")
    return int(match[1]), int(match[2])


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _seconds(text: str) -> int:
    try:
        return tolerance_ns(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


_GREEDY = ("--topics", "--with")  # the options that take values up to the next option


def parser() -> argparse.ArgumentParser:
    # Over 60 lines: one declarative table of the three commands and their options.
    root = argparse.ArgumentParser(
        prog="python -m processor",
        description="Extract ROS 1 and ROS 2 bags into per-topic tables, images and metadata.",
        epilog="Exit status: 0 complete, 1 unexpected failure, 2 bad input, "
        "3 partial (skipped topics and bad messages listed in manifest.json and on stderr).",
    )
    commands = root.add_subparsers(dest="command", required=True)

    extract = commands.add_parser(
        "extract",
        help="write OUTDIR/<bag name>/ from BAG",
        usage="python -m processor extract BAG OUTDIR [--topics T [T ...]] "
        "[--missing-topics {fail,skip}] [--format {csv,parquet}] "
        "[--column-names {dotted,underscore}] [--start T] [--end T] [--video] "
        "[--point-clouds {parquet,pcd}] [--shard I/N] [--source-url URL] "
        "[--sync REF --with T [T ...] [--sync-tolerance SECONDS] "
        "[--sync-method {nearest,last-before}] [--sync-clock {log,header}]]",
    )
    # Optional here only so that `--topics /a BAG OUTDIR` works: see _positionals.
    extract.add_argument(
        "bag",
        type=Path,
        metavar="BAG",
        nargs="?",
        help="ROS 1 .bag, ROS 2 bag folder, or bare .db3/.mcap",
    )
    extract.add_argument(
        "outdir",
        type=Path,
        metavar="OUTDIR",
        nargs="?",
        help="folder that receives <bag name>/ (made if missing; an existing <bag name>/ is "
        "replaced whole)",
    )
    extract.add_argument(
        "--topics",
        nargs="+",
        metavar="T",
        help="only these topics (leading slash optional); default all",
    )
    extract.add_argument(
        "--missing-topics",
        choices=("fail", "skip"),
        default="fail",
        help="a --topics topic the bag lacks: fail (default, exit 2 naming the bag's topics) "
        "or skip it (manifest.json absent_topics; what the orchestrator passes for a fleet)",
    )
    extract.add_argument("--format", choices=FORMATS, default="csv", help="default: csv")
    extract.add_argument(
        "--column-names",
        choices=COLUMN_NAMES,
        default="dotted",
        help="nested fields as header.stamp.sec (default) or header_stamp_sec (no quoting "
        "in Spark SQL)",
    )
    extract.add_argument(
        "--start",
        metavar="T",
        help="only messages logged at or after T: nanoseconds since the epoch, ISO 8601 with "
        "a zone (2023-11-14T22:13:20Z), or +SECONDS from the bag's start (+10.5); latched "
        "and /tf_static state from before T is kept",
    )
    extract.add_argument(
        "--end",
        metavar="T",
        help="only messages logged before T (excluded), spelled as for --start",
    )
    extract.add_argument(
        "--video",
        action="store_true",
        help="camera topics as H.264 MP4 files (<topic>.video/) with a frame index, instead of "
        "one image file per frame",
    )
    extract.add_argument(
        "--point-clouds",
        choices=POINT_CLOUDS,
        default="parquet",
        help="each PointCloud2 / PointCloud message's points as a Parquet table (default) or a "
        "binary PCD file, beside its table",
    )
    extract.add_argument(
        "--shard",
        type=_shard,
        metavar="I/N",
        help="extract only the I-th of N equal log-time slices; then `merge`",
    )
    extract.add_argument(
        "--source-url",
        metavar="URL",
        help="where the bag lives in the data lake, recorded in manifest.json as source_url",
    )
    extract.add_argument(
        "--sync",
        metavar="REF",
        help="also write sync/<REF>.<format>: one row per REF message, each --with topic "
        "joined to it (docs/processor.md, Synchronized tables)",
    )
    extract.add_argument(
        "--with",
        dest="with_topics",
        nargs="+",
        metavar="T",
        help="the topics joined to --sync REF; their columns are prefixed by topic",
    )
    extract.add_argument(
        "--sync-tolerance",
        type=_seconds,
        metavar="SECONDS",
        help=f"farthest match, inclusive (default {DEFAULT_SYNC_TOLERANCE}); none: nulls",
    )
    extract.add_argument(
        "--sync-method",
        choices=SYNC_METHODS,
        help="nearest message (default), or the last at or before the REF message",
    )
    extract.add_argument(
        "--sync-clock",
        choices=SYNC_CLOCKS,
        help="match on log time (default) or header.stamp (every topic needs one)",
    )
    extract.set_defaults(command_parser=extract)

    merge = commands.add_parser("merge", help="combine the N shard parts of BAG")
    merge.add_argument("bag", type=Path, metavar="BAG")
    merge.add_argument("outdir", type=Path, metavar="OUTDIR")
    merge.add_argument("--shards", type=_positive, required=True, metavar="N")

    info = commands.add_parser("info", help="print a summary like `rosbag info`")
    info.add_argument("bag", type=Path, metavar="BAG")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    return root


class Terminated(BaseException):
    """SIGTERM arrived (`docker stop`, Batch terminating the task): unwind like Ctrl-C."""


def _terminate(_signum: int, _frame: object) -> None:
    raise Terminated


def _last_greedy(argv: Sequence[str]) -> str | None:
    """Which of `--topics` and `--with` (or an abbreviation argparse accepts) came last."""
    last = None
    for token in argv:
        name = token.split("=", 1)[0]
        if len(name) > 2:
            last = next((option for option in _GREEDY if option.startswith(name)), last)
    return last


def _positionals(
    command: argparse.ArgumentParser, args: argparse.Namespace, argv: Sequence[str]
) -> None:
    """BAG and OUTDIR that `--topics` (or `--with`) took: `extract --topics /a BAG OUTDIR`
    ends the topic list with them. The positionals are always the last two values not given
    to an option, so they are in the list of whichever of the two came last."""
    attribute = "with_topics" if _last_greedy(argv) == "--with" else "topics"
    values = list(getattr(args, attribute) or [])
    if args.outdir is None and values:
        args.outdir = Path(values.pop())
    if args.bag is None and values:
        args.bag = Path(values.pop())
    if args.bag is None or args.outdir is None:
        command.error("the following arguments are required: BAG, OUTDIR")
    if getattr(args, attribute) is not None and not values:
        option = "--with" if attribute == "with_topics" else "--topics"
        command.error(f"{option} needs at least one topic before BAG and OUTDIR")
    setattr(args, attribute, values or None)


def _sync_options(command: argparse.ArgumentParser, args: argparse.Namespace) -> SyncOptions | None:
    """--sync and its options, checked against each other and against --topics."""
    given = [
        flag
        for flag, value in (
            ("--with", args.with_topics),
            ("--sync-tolerance", args.sync_tolerance),
            ("--sync-method", args.sync_method),
            ("--sync-clock", args.sync_clock),
        )
        if value is not None
    ]
    if args.sync is None:
        if given:
            command.error(f"{', '.join(given)} needs --sync REF (the topic whose rows they join)")
        return None
    if not args.with_topics:
        command.error("--sync needs --with TOPIC [TOPIC ...]: the topics joined to REF")
    reference = slashed(args.sync)
    others = tuple(dict.fromkeys(slashed(t) for t in args.with_topics))
    if reference in others:
        command.error(f"--with {reference}: that is the --sync topic itself; leave it out")
    selected = normalized_topics(args.topics)
    if selected is not None and (outside := [t for t in (reference, *others) if t not in selected]):
        command.error(
            f"--sync/--with topic(s) {', '.join(outside)} not among --topics; add them to "
            "--topics (the synchronized table is made from the extracted tables)"
        )
    return SyncOptions(
        reference,
        others,
        tolerance_ns(DEFAULT_SYNC_TOLERANCE)
        if args.sync_tolerance is None
        else args.sync_tolerance,
        args.sync_method or SYNC_METHODS[0],
        args.sync_clock or SYNC_CLOCKS[0],
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser().parse_args(argv)  # exits 2 on a bad command line, as the contract says
    if args.command == "extract":
        _positionals(args.command_parser, args, argv)
        args.sync_options = _sync_options(args.command_parser, args)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if in_main_thread else None
    try:
        return _run(args)
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "extract":
            options = Options(
                args.format,
                normalized_topics(args.topics),
                args.column_names,
                args.sync_options,
                start=args.start,
                end=args.end,
                video=args.video,
                point_clouds=args.point_clouds,
            )
            return run.extract(
                args.bag,
                args.outdir,
                options=options,
                selection=args.topics,
                strict_topics=args.missing_topics == "fail",
                shard=args.shard,
                source_url=args.source_url,
            )
        if args.command == "merge":
            return run.merge(args.bag, args.outdir, count=args.shards)
        return run.info(args.bag, as_json=args.json)
    except BagError as err:
        print(f"processor: error: {one_line(str(err))}", file=sys.stderr)
        return run.EXIT_BAD_INPUT
    except (KeyboardInterrupt, Terminated) as stop:
        how = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
        print(f"processor: {how}; nothing was marked complete", file=sys.stderr)
        return run.EXIT_FAILED
    except Exception:
        traceback.print_exc()
        print(
            "processor: unexpected failure (traceback above); nothing was marked complete",
            file=sys.stderr,
        )
        return run.EXIT_FAILED
