"""Names shared by more than one component: the Batch application package and the commands that
start the orchestrator from it (the pool's start task and the ADF Custom activity)."""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass

ORCHESTRATOR_APP_ID = "orchestrator"
LAUNCHER = "run-orchestrator"


def app_package_env_var(app_id: str, version: str) -> str:
    """The variable Batch sets on Linux nodes to a referenced package's directory.

    Batch replaces `.`, `-` and `#` with `_` and keeps the application id's case
    (learn.microsoft.com/azure/batch/batch-application-packages).
    """
    return "AZ_BATCH_APP_PACKAGE_" + re.sub(r"[.\-#]", "_", f"{app_id}_{version}")


def orchestrator_command(app_id: str, version: str, *args: str) -> str:
    """A command line that runs the orchestrator launcher from its application package.

    The variable is looked up case-insensitively because Microsoft's docs have shown it both
    upper-case and case-preserved on Linux (UNCONFIRMED which one nodes use today). Batch does
    not run command lines in a shell, so the lookup runs under an explicit bash. The launcher is
    a bash script started through bash, so it runs even if the package's zip extraction dropped
    its execute bit (whether Batch keeps zip file modes is UNCONFIRMED).
    """
    var = app_package_env_var(app_id, version)
    script = (
        f'dir="$(env | grep -i "^{var}=" | head -n 1 | cut -d= -f2-)"; '
        f'if [ -z "$dir" ]; then echo "{var} is not set: is application package '
        f'{app_id} version {version} referenced by this pool?" >&2; exit 3; fi; '
        f'exec /bin/bash "$dir/{LAUNCHER}" {shlex.join(args)}'
    )
    return f"/bin/bash -c {shlex.quote(script)}"


# ---------------------------------------------------------------------------------------------
# Fixed names (docs/contracts.md) and physical names of globally named resources
# ---------------------------------------------------------------------------------------------

DATA_CONTAINER = "data"
RAW_PATH = "raw/"
EXTRACTED_PATH = "extracted/"
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


def prepare_mount_command(mount_path: str) -> str:
    """Shell lines a start task (as admin) runs to make the NFS container usable by tasks.

    A new NFS container's root is mode 0750 owned by root, so non-admin tasks get "Permission
    denied" (checklist pitfall 3). The zones are created here too, so a fresh deployment has
    raw/ and extracted/ before anyone uploads: raw/ readable by every task user, extracted/
    writable by every task user (whether Batch runs container tasks as root is UNCONFIRMED; the
    account only admits the pool subnet, so that is not an opening to anyone else).
    """
    root = f'"$AZ_BATCH_NODE_MOUNTS_DIR/{mount_path}"'
    raw = f'"$AZ_BATCH_NODE_MOUNTS_DIR/{mount_path}/{RAW_PATH.rstrip("/")}"'
    extracted = f'"$AZ_BATCH_NODE_MOUNTS_DIR/{mount_path}/{EXTRACTED_PATH.rstrip("/")}"'
    # Folders uploaded later through the Blob API arrive as 0750 as well: open the ones that are
    # there now to listing (o+rx on folders only; bag files need no read bit to be found).
    open_uploads = f"find {raw} -type d ! -perm -o=rx -exec chmod o+rx {{}} +"
    return (
        f"set -e; mkdir -p {raw} {extracted}; chmod 0755 {root} {raw}; chmod 0777 {extracted}; "
        f"{open_uploads}"
    )


def start_task_command(mount_path: str, then: str | None = None) -> str:
    """`/bin/bash -c` running prepare_mount_command, then (optionally) another command line."""
    script = prepare_mount_command(mount_path)
    if then:
        script += f"; {then}"
    return f"/bin/bash -c {shlex.quote(script)}"
