"""The ledger: what was made of each bag, so that no unchanged bag is extracted twice.

One record per bag, `<output>/_ledger/<the bag's output key>.json`: the source id its output
was made from (orchestrator/source.py) and whether the bag was extracted or quarantined (the
processor's exit 2: unreadable, not worth a retry until it changes). The records sit beside the
outputs, not in them: an output folder stays exactly what the processor wrote, and a
quarantined bag, which has no output, still has its record. The orchestrator writes a record
once the bag's tasks have finished, with the source id it read *before* they started: a bag
that changed during its extraction is extracted again next time, and a run that died between
the processor's output and the record leaves the old record, whose source id no longer matches
(the bag is extracted once more, never skipped wrongly).
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

LEDGER_DIR = "_ledger"
EXTRACTED, QUARANTINED = "extracted", "quarantined"


@dataclass(frozen=True)
class Record:
    bag: str  # its path relative to the data root
    source_id: str
    status: str  # EXTRACTED | QUARANTINED
    reason: str = ""  # why it was quarantined: the processor's one-line error
    job_id: str = ""
    recorded_at: str = ""
    moved_to: str = ""  # where a quarantined bag was moved (--quarantine-to), if it was


def record_path(output_dir: Path, output_key: PurePosixPath) -> Path:
    """`<output>/_ledger/<output key>.json` (the output key is a relative path, checked by
    discovery: no `..`)."""
    return output_dir / LEDGER_DIR / f"{output_key}.json"


def read(output_dir: Path, output_key: PurePosixPath) -> Record | None:
    """The bag's record; None when there is none or it cannot be read (the bag is then
    treated as never extracted: at worst, extracted once more)."""
    try:
        loaded = json.loads(record_path(output_dir, output_key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(loaded, dict):
        return None
    fields = {name: loaded.get(name) for name in Record.__dataclass_fields__}
    if not all(isinstance(value, str) for value in fields.values() if value is not None):
        return None
    if (
        not fields["bag"]
        or not fields["source_id"]
        or fields["status"]
        not in (
            EXTRACTED,
            QUARANTINED,
        )
    ):
        return None
    return Record(**{name: value for name, value in fields.items() if value is not None})


def write(output_dir: Path, output_key: PurePosixPath, record: Record) -> None:
    """Write the record whole: a temporary file renamed over the old one (readers never see
    half a record; rename is atomic on a local disk and on NFS)."""
    stamped = record
    if not record.recorded_at:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        stamped = Record(**{**asdict(record), "recorded_at": now})
    target = record_path(output_dir, output_key)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(asdict(stamped), indent=1) + "\n", encoding="utf-8")
    temporary.replace(target)
