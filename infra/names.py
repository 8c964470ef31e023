"""The names the stack fixes: containers, paths, pools, the application package and the secret
(docs/contracts.md), and the physical names of the resources Azure names globally.

The commands nodes run are in infra/node_commands.py."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

ORCHESTRATOR_APP_ID = "orchestrator"  # the Batch application holding the orchestrator package


DATA_CONTAINER = "data"
RAW_PATH = "raw/"
EXTRACTED_PATH = "extracted/"
QUARANTINE_PATH = "raw/quarantine/"  # where unreadable bags go when quarantineBags is set
LAKE_PATH = "lake/"  # the lakehouse's Delta tables, catalog and reports (docs/lakehouse.md)
MOUNT_PATH = "data"  # nfsMountConfiguration.relativeMountPath on both pools
TASK_LOGS_CONTAINER = "task-logs"
ADF_JOBS_CONTAINER = "adfjobs"  # where ADF's Custom activity keeps each run's files
SAMPLES_CONTAINER = "samples"  # Batch storage: the sample bag on its way to the data lake
APP_INSIGHTS_SECRET_NAME = "appinsights-connection-string"
ORCHESTRATOR_POOL_ID = "orchestrator"
EXECUTION_POOL_ID = "execution"
PROCESSOR_REPOSITORY = "processor"

# Azure's rules for the names that are global (DNS) or tightly limited.
_NAME_RULES: dict[str, tuple[str, str]] = {
    "storage account": (r"[a-z0-9]{3,24}", "3-24 lower-case letters and digits"),
    "container registry": (r"[a-zA-Z0-9]{5,50}", "5-50 letters and digits"),
    "batch account": (r"[a-z0-9]{3,24}", "3-24 lower-case letters and digits"),
}


@dataclass(frozen=True)
class PhysicalNames:
    """Deterministic names for resources Azure names globally: the same stack in the same
    subscription always gets the same names (a re-run never orphans one), and two stacks or two
    subscriptions never collide (the suffix hashes all three). The Key Vault is not among them:
    a destroyed vault keeps its name while soft-deleted, so it is auto-named (infra/components/
    secrets.py)."""

    data_lake: str
    batch_storage: str
    registry: str
    batch_account: str

    @staticmethod
    def derive(project: str, stack: str, subscription_id: str) -> PhysicalNames:
        suffix = hashlib.sha256(f"{project}/{stack}/{subscription_id}".encode()).hexdigest()[:6]
        # Only letters and digits survive everywhere; 8 characters of the stack keep names short.
        short = re.sub(r"[^a-z0-9]", "", stack.lower())[:8] or "stack"
        names = PhysicalNames(
            data_lake=f"rb{short}lake{suffix}",
            batch_storage=f"rb{short}batch{suffix}",
            registry=f"rb{short}acr{suffix}",
            batch_account=f"rb{short}{suffix}",
        )
        names.validate()
        return names

    def validate(self) -> None:
        for kind, name in (
            ("storage account", self.data_lake),
            ("storage account", self.batch_storage),
            ("container registry", self.registry),
            ("batch account", self.batch_account),
        ):
            pattern, rule = _NAME_RULES[kind]
            if not re.fullmatch(pattern, name):
                raise ValueError(f"{kind} name {name!r} breaks Azure's rule: {rule}")
