"""Translating plan tasks into Batch container tasks (pure: no requests made here)."""

from __future__ import annotations

import datetime
import shlex
from dataclasses import dataclass

from azure.batch import models

from orchestrator.executors import MOUNTS_DIR_ENV
from orchestrator.outcome import EXIT_BAD_INPUT, EXIT_PARTIAL
from orchestrator.plan import TaskSpec

# The image's entry point, by its path in the image (apps/processor/Dockerfile). Naming it
# makes the command work whether Batch hands the command line to the ENTRYPOINT as arguments
# (the entry point then runs itself) or runs it in the ENTRYPOINT's place (docs/contracts.md §2).
PROCESSOR_LAUNCHER = ("/usr/local/bin/processor-entrypoint",)
# Container command lines are not run in a shell, so nothing expands variables in them (azure-
# batch models BatchTaskCreateOptions.command_line), and the execution node's mounts folder may
# not be the orchestrator node's (their images differ). So data paths are written under this
# literal, and the entry point replaces it with the node's own AZ_BATCH_NODE_MOUNTS_DIR.
NODE_MOUNTS = "$" + MOUNTS_DIR_ENV
TASK_RETENTION = datetime.timedelta(days=7)
# Every exit code but 0 and the verdicts 2 and 3 (Batch reports signal deaths as negative codes).
_INT32 = 2**31
_HOLDING_EXIT_CODES = ((-_INT32, -1), (1, EXIT_BAD_INPUT - 1), (EXIT_PARTIAL + 1, _INT32 - 1))


@dataclass(frozen=True)
class ContainerTaskSettings:
    """Everything about the execution pool that a task needs."""

    image: str
    registry_server: str
    execution_identity_resource_id: str
    mount_path: str  # the pools' relativeMountPath: the data lake is NODE_MOUNTS/<mount_path>
    task_logs_container_url: str
    max_wall_clock: datetime.timedelta | None = None


def command_line(task: TaskSpec, mount_path: str) -> str:
    """The task's command line; arguments quoted for Batch's own word splitting."""
    data_root = f"{NODE_MOUNTS}/{mount_path}"
    return shlex.join([*PROCESSOR_LAUNCHER, *task.processor_args(data_root)])


def _exit_conditions() -> models.ExitConditions:
    """Dependants (a merge waiting for its shards) run after success and after the processor's
    verdicts, 2 and 3 (a merge after a bad shard reports the missing part). Any other failure
    holds them (`block`), because the orchestrator may retry it (executors/retries.py).

    The exit code's own mapping wins over `fileUploadError` (azure-batch models
    ExitConditions.file_upload_error), so every code other than 0, 2 and 3 is mapped to block:
    a crash whose log upload also failed still holds the merge. Exit 0 with a failed log upload
    releases it: the work is done. No `jobAction` anywhere: the job's onTaskFailure is
    noaction, and Batch refuses any task that sets one (models ExitOptions.job_action).
    """
    release = models.ExitOptions(dependency_action="satisfy")
    hold = models.ExitOptions(dependency_action="block")
    return models.ExitConditions(
        exit_codes=[
            models.ExitCodeMapping(code=EXIT_BAD_INPUT, exit_options=release),
            models.ExitCodeMapping(code=EXIT_PARTIAL, exit_options=release),
        ],
        exit_code_ranges=[
            models.ExitCodeRangeMapping(start=start, end=end, exit_options=hold)
            for start, end in _HOLDING_EXIT_CODES
        ],
        pre_processing_error=hold,
        file_upload_error=release,
        default=hold,
    )


def _log_uploads(
    task: TaskSpec, settings: ContainerTaskSettings, job_id: str
) -> list[models.OutputFile]:
    """stdout/stderr into the task-logs container, so they outlive the node."""
    identity = models.BatchNodeIdentityReference(
        resource_id=settings.execution_identity_resource_id
    )
    return [
        models.OutputFile(
            file_pattern=f"../{name}",  # relative to the task's working directory (wd/)
            destination=models.OutputFileDestination(
                container=models.OutputFileBlobContainerDestination(
                    container_url=settings.task_logs_container_url,
                    path=f"{job_id}/{task.id}/{name}",
                    identity_reference=identity,
                )
            ),
            upload_options=models.OutputFileUploadConfiguration(upload_condition="taskcompletion"),
        )
        for name in ("stdout.txt", "stderr.txt")
    ]


def container_task(
    task: TaskSpec, settings: ContainerTaskSettings, job_id: str
) -> models.BatchTaskCreateOptions:
    """The Batch task that runs `task` in the processor image on the execution pool."""
    return models.BatchTaskCreateOptions(
        id=task.id,
        display_name=f"{task.kind} {task.bag}"[:1024],
        command_line=command_line(task, settings.mount_path),
        container_settings=models.BatchTaskContainerSettings(
            image_name=settings.image,
            # The registry with the pool's identity: a node that did not prefetch
            # the image (or lost it) can still pull it.
            registry=models.ContainerRegistryReference(
                registry_server=settings.registry_server,
                identity_reference=models.BatchNodeIdentityReference(
                    resource_id=settings.execution_identity_resource_id
                ),
            ),
            # containerHostBatchBindMounts left unset on purpose: Batch then binds
            # the whole node root, NFS mount included, at the same path (contracts §1).
        ),
        # The NFS container root is mode 0750 and owned by root: tasks must be admin.
        user_identity=models.UserIdentity(
            auto_user=models.AutoUserSpecification(scope="pool", elevation_level="admin")
        ),
        constraints=models.BatchTaskConstraints(
            # The orchestrator retries what is worth retrying itself (executors/retries.py).
            max_task_retry_count=0,
            max_wall_clock_time=settings.max_wall_clock,
            retention_time=TASK_RETENTION,
        ),
        exit_conditions=_exit_conditions(),
        depends_on=models.BatchTaskDependencies(task_ids=list(task.depends_on))
        if task.depends_on
        else None,
        required_slots=task.required_slots,
        # No environment settings: the processor needs none, and a secret here (the
        # Application Insights connection string, say) would be readable by what parses
        # untrusted bags (docs/orchestrator.md "Telemetry").
        output_files=_log_uploads(task, settings, job_id),
    )
