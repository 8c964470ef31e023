"""The lakehouse: every run's rows in fleet-wide Delta tables, a catalog and static reports.

After all of a run's tasks have finished, `commit_run` reads each extracted bag's tables and
makes one Delta commit per table (docs/lakehouse.md): readers never see half a run.
"""

from orchestrator.lakehouse.run import LakeResult, Ledgered, commit_run

__all__ = ["LakeResult", "Ledgered", "commit_run"]
