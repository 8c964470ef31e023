"""Azure Data Factory: the factory, its managed-identity credential, linked services, and the
`extract-bags` pipeline whose Custom activity starts the orchestrator on the orchestrator pool.

SKELETON: the Args and outputs below are the contract with infra/program.py; the body is being
written (issue 2). Keep the field names stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi


@dataclass(frozen=True)
class ScheduleArgs:
    """An optional schedule trigger for the pipeline (ADF creates triggers Stopped)."""

    frequency: str  # "Minute" | "Hour" | "Day" | "Week" | "Month"
    interval: int
    start_time: str  # ISO 8601, UTC
    time_zone: str = "UTC"


@dataclass
class DataFactoryArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    # The shared user-assigned identity: the factory's identity and the credential every linked
    # service authenticates with (the same identity the Batch account and pools carry).
    identity_id: pulumi.Input[str]
    identity_client_id: pulumi.Input[str]
    batch_account_name: pulumi.Input[str]
    batch_account_endpoint: pulumi.Input[str]  # https://<account>.<region>.batch.azure.com
    orchestrator_pool_id: pulumi.Input[str]
    execution_pool_id: pulumi.Input[str]
    staging_blob_endpoint: pulumi.Input[str]  # https://<batch storage>.blob.core.windows.net/
    data_lake_dfs_endpoint: pulumi.Input[str]  # https://<data lake>.dfs.core.windows.net/
    key_vault_uri: pulumi.Input[str]
    app_insights_secret_name: pulumi.Input[str]
    registry_server: pulumi.Input[str]
    processor_image: pulumi.Input[str]
    orchestrator_package_version: pulumi.Input[str]
    task_logs_container_url: pulumi.Input[str]
    orchestrator_app_id: str = "orchestrator"
    mount_path: str = "data"
    default_input_path: str = "raw/"
    default_output_path: str = "extracted/"
    default_format: str = "csv"
    activity_timeout: str = "0.12:00:00"  # d.hh:mm:ss, ADF policy format
    activity_retries: int = 1
    orchestrator_timeout_minutes: int = 660  # below the activity timeout, so we report first
    schedule: ScheduleArgs | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class DataFactory(pulumi.ComponentResource):
    factory_name: pulumi.Output[str]
    pipeline_name: pulumi.Output[str]
    trigger_name: pulumi.Output[str | None]  # None when no schedule is configured

    def __init__(
        self, name: str, args: DataFactoryArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:datafactory:DataFactory", name, None, opts)
        raise NotImplementedError("DataFactory is being written (issue 2)")
