"""A stand-in for `python -m processor` that keeps contracts §2 and fails on request.

Used where the real processor's work is beside the point (thousands of tasks,
injected failures). The bag's file name says what to do: `bad` exits 2 with a
one-line reason, `partial` exits 3, `crash` exits 1, `flaky` exits 1 on its first
attempt only (a transient failure; per shard, not in merge), `slow` sleeps 30 s first, `pause` 1 s.
Anything else writes `<OUTDIR>/<bag name>/` with a manifest and `_SUCCESS`, the manifest's
options recording the processor options it was given (orchestrator/passthrough.py), and
`argv.json`: the arguments it was given, for tests of the command line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from orchestrator import passthrough
from orchestrator.freshness import PROCESSOR_VERSION


def _name(bag: Path) -> str:
    return bag.stem if bag.suffix in (".bag", ".db3", ".mcap") else bag.name


def _options(args: list[str]) -> dict[str, object]:
    """The `options` record the real processor writes (processor/manifest.py options_record)."""
    fmt = args[args.index("--format") + 1] if "--format" in args else "csv"
    topics: list[str] = []
    if "--topics" in args:
        for value in args[args.index("--topics") + 1 :]:
            if value.startswith("--"):
                break
            topics.append(value if value.startswith("/") else f"/{value}")
    # The processor options (issue 13) as the processor takes them: `--start=T`, `--with A B`.
    parser = argparse.ArgumentParser(add_help=False)
    passthrough.add_arguments(parser)
    given, _ = parser.parse_known_args(args)
    return {
        "format": fmt,
        "topics": sorted(set(topics)) or None,
        "column_names": "dotted",
        **passthrough.settle(given).record(),
        "processor_version": PROCESSOR_VERSION,
    }


def _write(
    folder: Path,
    messages: int,
    options: dict[str, object] | None = None,
    *,
    partial: bool = False,
    source_url: str | None = None,
) -> None:
    staging = folder.with_name(f".{folder.name}.tmp")
    staging.mkdir(parents=True, exist_ok=True)
    (staging / "topic.csv").write_text("t,value\n" * messages, encoding="utf-8")
    manifest = {
        "options": options or _options([]),
        "source_url": source_url,
        "skipped": [{"topic": "/lost", "messages": 1, "reason": "type unknown"}] if partial else [],
        "messages": messages,
        "topics": [
            {
                "topic": "/fake",
                "msgtype": "std_msgs/msg/Int32",
                "messages": messages,
                "files": ["topic.csv"],
                "side_files": 0,
            }
        ],
    }
    (staging / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (staging / "_SUCCESS").write_text("", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)  # replaced whole, as the real processor does
    staging.rename(folder)


def main(argv: list[str]) -> int:
    command, bag_arg, out_arg, *rest = argv
    bag, out = Path(bag_arg), Path(out_arg)
    name = _name(bag)
    if "slow" in name:
        time.sleep(30)
    if "pause" in name:
        time.sleep(1)
    if "crash" in name:
        print("Traceback: something unexpected", file=sys.stderr)
        return 1
    if "flaky" in name and command == "extract":
        shard = rest[rest.index("--shard") + 1].replace("/", "-of-") if "--shard" in rest else ""
        marker = out / f".{name}.{shard}.failed-once"
        if not marker.exists():
            out.mkdir(parents=True, exist_ok=True)
            marker.write_text("", encoding="utf-8")
            print("OSError: [Errno 5] Input/output error (a transient NFS error)", file=sys.stderr)
            return 1
    if "bad" in name:
        print(f"error: {bag} is not a readable bag: bad header", file=sys.stderr)
        return 2
    if command == "extract" and "--shard" in rest:
        index, total = rest[rest.index("--shard") + 1].split("/")
        part = out / f".{name}.part-{index}-of-{total}"
        part.mkdir(parents=True, exist_ok=True)
        (part / "_SUCCESS").write_text("", encoding="utf-8")
        return 0
    if command == "merge":
        total = int(rest[rest.index("--shards") + 1])
        parts = [out / f".{name}.part-{i}-of-{total}" for i in range(1, total + 1)]
        missing = [part.name for part in parts if not (part / "_SUCCESS").is_file()]
        if missing:
            print(f"error: shard parts missing: {', '.join(missing)}", file=sys.stderr)
            return 2
        for part in parts:
            (part / "_SUCCESS").unlink()
            part.rmdir()
        _write(out / name, messages=total)
        return 0
    source_url = rest[rest.index("--source-url") + 1] if "--source-url" in rest else None
    _write(out / name, 3, _options(rest), partial="partial" in name, source_url=source_url)
    (out / name / "argv.json").write_text(json.dumps(argv), encoding="utf-8")
    return 3 if "partial" in name else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
