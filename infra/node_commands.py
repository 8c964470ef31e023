"""The command lines Batch runs on nodes: the orchestrator started from its application package
(the orchestrator pool's start task and the ADF Custom activity), and the start tasks that make
the NFS-mounted data container usable by tasks. Batch runs command lines without a shell, so
each is an explicit `/bin/bash -c`; tests/infra/test_node_commands.py runs them with bash."""

from __future__ import annotations

import re
import shlex

from infra.names import EXTRACTED_PATH, RAW_PATH

LAUNCHER = "run-orchestrator"  # the launcher script at the root of the orchestrator package


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
    its execute bit (whether Batch keeps zip file modes is UNCONFIRMED). Both: docs/azure-
    behaviour.md, "Unconfirmed".
    """
    var = app_package_env_var(app_id, version)
    script = (
        f'dir="$(env | grep -i "^{var}=" | head -n 1 | cut -d= -f2-)"; '
        f'if [ -z "$dir" ]; then echo "{var} is not set: is application package '
        f'{app_id} version {version} referenced by this pool?" >&2; exit 3; fi; '
        f'exec /bin/bash "$dir/{LAUNCHER}" {shlex.join(args)}'
    )
    return f"/bin/bash -c {shlex.quote(script)}"


def prepare_mount_command(mount_path: str) -> str:
    """Shell lines a start task (as admin) runs to make the NFS container usable by tasks.

    A new NFS container's root is mode 0750 owned by root, and what the Blob API creates gets the
    umask 007, so non-admin tasks get "Permission denied" (docs/azure-behaviour.md, "Storage";
    docs/operations.md §7). The zones are created here too, so a fresh deployment has raw/ and
    extracted/ before anyone uploads: raw/ readable by every task user, extracted/ writable by
    every task user (whether Batch runs container tasks as root is UNCONFIRMED: docs/azure-
    behaviour.md, "Unconfirmed"; the account only admits the pool subnet, so that is not an
    opening to anyone else).
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
