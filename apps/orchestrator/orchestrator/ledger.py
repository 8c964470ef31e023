"""The ledger: what was made of each bag, so that no unchanged bag is extracted twice.

One record per bag, `_LEDGER.json` in the bag's output folder (beside the processor's
manifest.json): the source id the output was made from (orchestrator/source.py) and whether the
bag was extracted or quarantined (the processor's exit 2: unreadable, not worth a retry until it
changes). The processor replaces its output folder whole on every extraction
(processor/output.py `staged_folder`), so a new output never keeps an old record: the
orchestrator writes the record once the bag's tasks have finished, from the source id it read
*before* they started (a bag that changed during its extraction is extracted again next time).
With a lake, the catalog's `bags` table carries the same source id and status
(lakehouse/catalog.py); this record is what planning reads, because it sits beside the output
it vouches for.
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

LEDGER = "_LEDGER.json"
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


def read(result_dir: Path) -> Record | None:
    """The record in `result_dir`; None when there is none or it cannot be read (the bag is
    then treated as never extracted: at worst, once more)."""
    try:
        loaded = json.loads((result_dir / LEDGER).read_text(encoding="utf-8"))
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


def write(result_dir: Path, record: Record) -> None:
    """Write the record whole: a temporary file renamed over the old one (readers never see
    half a record; rename is atomic on a local disk and on NFS)."""
    stamped = record
    if not record.recorded_at:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        stamped = Record(**{**asdict(record), "recorded_at": now})
    result_dir.mkdir(parents=True, exist_ok=True)
    temporary = result_dir / f".{LEDGER}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(asdict(stamped), indent=1) + "\n", encoding="utf-8")
    temporary.replace(result_dir / LEDGER)
