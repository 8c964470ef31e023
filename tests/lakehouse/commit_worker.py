"""One orchestrator's lake commit, in its own process, started at a given moment: two of them
commit the same lake at once (tests/lakehouse/test_concurrency.py).

    python -m tests.lakehouse.commit_worker ROOT WHO START_EPOCH BAG_PREFIX ROWS
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path, PurePosixPath

from orchestrator.lakehouse import commit_run
from orchestrator.lakehouse.delta import Target
from scripts.bench_lake_commit import result_for, write_bag_output


def main() -> None:
    root, who, start, prefix, rows = sys.argv[1:6]
    results = []
    for i in range(4):
        name = f"{prefix}-{i}"
        folder = write_bag_output(Path(root) / who / "out", name, int(rows), day=i % 2)
        results.append(replace(result_for(name, folder), output=PurePosixPath(who) / folder))
    while time.time() < float(start):
        time.sleep(0.001)
    committed = commit_run(results, Path(root), Target(str(Path(root) / "lake")), f"run-{who}")
    print(json.dumps(committed.as_json()))


if __name__ == "__main__":
    main()
