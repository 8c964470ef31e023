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
from processor.options import COLUMN_NAMES, FORMATS, POINT_CLOUDS, Options, normalized_topics


def _shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise argparse.ArgumentTypeError(f"{text!r} is not I/N with 1 <= I <= N (e.g. 2/4)")
    return int(match[1]), int(match[2])


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


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
        "[--column-names {dotted,underscore}] [--point-clouds {parquet,pcd}] "
        "[--shard I/N] [--source-url URL]",
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


def _positionals(command: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """BAG and OUTDIR that `--topics` took: `extract --topics /a BAG OUTDIR` ends the topic
    list with them. The positionals are always the last two values not given to an option."""
    topics = list(args.topics or [])
    if args.outdir is None and topics:
        args.outdir = Path(topics.pop())
    if args.bag is None and topics:
        args.bag = Path(topics.pop())
    if args.bag is None or args.outdir is None:
        command.error("the following arguments are required: BAG, OUTDIR")
    if args.topics is not None and not topics:
        command.error("--topics needs at least one topic before BAG and OUTDIR")
    args.topics = topics or None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)  # exits 2 on a bad command line, as the contract says
    if args.command == "extract":
        _positionals(args.command_parser, args)
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
