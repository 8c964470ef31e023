"""Names shared by more than one component: the Batch application package and the commands that
start the orchestrator from it (the pool's start task and the ADF Custom activity)."""

from __future__ import annotations

import re
import shlex

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
    not run command lines in a shell, so the lookup runs under an explicit bash.
    """
    var = app_package_env_var(app_id, version)
    script = (
        f'dir="$(env | grep -i "^{var}=" | head -n 1 | cut -d= -f2-)"; '
        f'if [ -z "$dir" ]; then echo "{var} is not set: is application package '
        f'{app_id} version {version} referenced by this pool?" >&2; exit 3; fi; '
        f'exec "$dir/{LAUNCHER}" {shlex.join(args)}'
    )
    return f"/bin/bash -c {shlex.quote(script)}"
