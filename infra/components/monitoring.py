"""Log Analytics workspace + workspace-based Application Insights (classic is retired)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights

from infra.placement import Placement


@dataclass
class MonitoringArgs:
    placement: Placement
    retention_days: int


class Monitoring(pulumi.ComponentResource):
    workspace_id: pulumi.Output[str]
    connection_string: pulumi.Output[str]  # secret

    def __init__(
        self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        workspace = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            sku=operationalinsights.WorkspaceSkuArgs(
                name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018
            ),
            retention_in_days=args.retention_days,
            tags=dict(args.placement.tags),
            opts=child,
        )
        insights = applicationinsights.Component(
            f"{name}-insights",
            resource_group_name=args.placement.resource_group_name,
            location=args.placement.location,
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            workspace_resource_id=workspace.id,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            tags=dict(args.placement.tags),
            # The connection string lets anyone send telemetry: keep it encrypted in state.
            opts=pulumi.ResourceOptions(
                parent=self, additional_secret_outputs=["connectionString", "instrumentationKey"]
            ),
        )
        self.workspace_id = workspace.id
        self.connection_string = pulumi.Output.secret(insights.connection_string)
        self.register_outputs(
            {"workspace_id": self.workspace_id, "connection_string": self.connection_string}
        )
