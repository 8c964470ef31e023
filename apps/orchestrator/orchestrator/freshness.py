"""Whether an output already there is this run's: "already extracted" means "extracted with
these options".

The processor records in manifest.json `options`: the format, the topic selection, the column
naming, the pass-through options (passthrough.py: slice, sync, point clouds, video) and its own
version (docs/processor.md "manifest.json"). A complete output whose record
differs from what this run asks for is another run's output: its bag is extracted again, and the
processor replaces the folder whole (processor/output.py `staged_folder`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from orchestrator import passthrough
from orchestrator.manifest import MANIFEST
from orchestrator.passthrough import ProcessorOptions

# The processor this orchestrator is released with: both come from one checkout, the image and
# the orchestrator package are built together (infra/components/artifacts.py).
# tests/orchestrator/test_freshness.py fails when it drifts from processor.__version__.
PROCESSOR_VERSION = "0.4.0"


# What a manifest without a pass-through option's key means: written before the option existed,
# so made as without it (the processor's default).
_ABSENT = passthrough.absent_record()


def wanted_options(
    output_format: str,
    topics: Sequence[str],
    column_names: str = "dotted",
    processor: ProcessorOptions | None = None,
) -> dict[str, Any]:
    """The `options` record the processor writes for this run's tasks (processor/manifest.py
    `options_record`): topics with a leading slash, sorted, unique; None for every topic; and
    the pass-through options (passthrough.py), each as the processor records it."""
    selected = sorted({topic if topic.startswith("/") else f"/{topic}" for topic in topics})
    return {
        "format": output_format,
        "topics": selected or None,
        "column_names": column_names,
        **(processor or ProcessorOptions()).record(),
        "processor_version": PROCESSOR_VERSION,
    }


def describe(options: dict[str, Any]) -> str:
    """`format csv, all topics, dotted column names, processor 0.4.0` (and `--video`...)."""
    topics = options.get("topics")
    given = [
        f"{_LABELS[key]} {_shown(key, value)}"
        for key, value in options.items()
        if key in _ABSENT and value != _ABSENT[key]
    ]
    return (
        f"format {options.get('format')}, "
        + (f"topics {' '.join(map(str, topics))}" if topics else "all topics")
        + f", {options.get('column_names')} column names"
        + "".join(f", {text}" for text in given)
        + f", processor {options.get('processor_version')}"
    )


_LABELS = {
    "format": "format",
    "topics": "topics",
    "column_names": "column names",
    "processor_version": "processor",
    # A group (`sync`) is named by its first option's flag.
    **{row.group or row.key: row.flag for row in reversed(passthrough.TABLE)},
}


def _shown(key: str, value: Any) -> str:
    if key == "topics":
        return " ".join(map(str, value)) if isinstance(value, list) and value else "all"
    if key in _ABSENT:
        if value is None or value is False:
            return "absent"
        if value is True:
            return "on"
        if isinstance(value, list):
            return " ".join(map(str, value))
        if isinstance(value, dict):
            return " ".join(f"{k}={_shown(key, v)}" for k, v in value.items())
    return str(value)


def mismatch(result_dir: Path, wanted: dict[str, Any]) -> str:
    """'' when the complete output in `result_dir` was made with `wanted`; else why it was not
    (one line, for the run's log)."""
    try:
        manifest = json.loads((result_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return f"its {MANIFEST} cannot be read ({type(error).__name__})"
    recorded = manifest.get("options") if isinstance(manifest, dict) else None
    if not isinstance(recorded, dict):
        return "it records no options (made by a processor before 0.2.0)"
    differences = [
        _difference(key, recorded.get(key, _ABSENT.get(key)), value)
        for key, value in wanted.items()
        if recorded.get(key, _ABSENT.get(key)) != value
    ]
    return ("it was made with " + ", ".join(differences)) if differences else ""


def _difference(key: str, made: Any, wanted: Any) -> str:
    """`--start absent (this run: +5)`; of a group (`sync`), only the members that differ."""
    if isinstance(made, dict) and isinstance(wanted, dict):
        members = [k for k in wanted if made.get(k) != wanted[k]]
        made = {k: made.get(k) for k in members}
        wanted = {k: wanted[k] for k in members}
    return f"{_LABELS[key]} {_shown(key, made)} (this run: {_shown(key, wanted)})"
