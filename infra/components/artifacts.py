"""The code the stack ships: the processor image in the registry and the orchestrator as a Batch
application package, each rebuilt only when its sources change (infra/dynamic/).

`processor_image` (`name@digest`) and `orchestrator_package_version` are Outputs, and
`pool_dependencies` holds the package resource, because a pool referencing a version that is not
yet activated fails with InvalidApplicationPackageReferences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from infra.dynamic.orchestrator_package import OrchestratorPackage, OrchestratorPackageArgs
from infra.dynamic.processor_image import ProcessorImage, ProcessorImageArgs
from infra.names import ORCHESTRATOR_APP_ID, PROCESSOR_REPOSITORY
from infra.placement import Placement

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
PROCESSOR_SOURCE = REPOSITORY_ROOT / "apps" / "processor"
ORCHESTRATOR_SOURCE = REPOSITORY_ROOT / "apps" / "orchestrator"
# Versions kept besides the newest, for rollback and for nodes still using them
# (infra/dynamic/orchestrator_package.py).
KEEP_PREVIOUS_PACKAGES = 2


@dataclass
class ArtifactsArgs:
    subscription_id: pulumi.Input[str]
    placement: Placement
    registry_name: pulumi.Input[str]
    registry_login_server: pulumi.Input[str]
    batch_account_name: pulumi.Input[str]
    image_builder: str = "acr"  # "acr" (quick build) or "docker" (local engine)
    # The azure-native Registry and BatchAccount resources: if one is replaced, the new (empty)
    # one gets the image or package again although nothing else changed (Pulumi's
    # `replace_with`, which needs a Pulumi CLI from December 2025 or later).
    registry_resource: pulumi.Resource | None = None
    batch_account_resource: pulumi.Resource | None = None
    # What the package upload needs first: the deployer's blob role on the auto-storage account
    # (the upload URL carries no SAS in BatchAccountManagedIdentity mode).
    package_depends_on: Sequence[pulumi.Resource] = ()


class Artifacts(pulumi.ComponentResource):
    """The processor image and the orchestrator package, built from this checkout."""

    processor_image: pulumi.Output[str]  # <login server>/processor@sha256:<digest>
    orchestrator_app_id: str
    orchestrator_package_version: pulumi.Output[str]
    orchestrator_application_id: pulumi.Output[str]  # ARM id, for pool package references
    orchestrator_package: OrchestratorPackage
    processor_image_build: ProcessorImage
    pool_dependencies: Sequence[pulumi.Resource]  # what the pools must wait for

    def __init__(
        self, name: str, args: ArtifactsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rosbag:artifacts:Artifacts", name, None, opts)

        def child(
            replaced_with: pulumi.Resource | None, depends_on: Sequence[pulumi.Resource] = ()
        ) -> pulumi.ResourceOptions:
            if replaced_with is None:
                return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))
            # Delete first: the old resource names the same registry or account as the new one,
            # so deleting it after the new one was made would remove what was just published.
            return pulumi.ResourceOptions(
                parent=self,
                depends_on=list(depends_on),
                replace_with=[replaced_with],
                delete_before_replace=True,
            )

        self.processor_image_build = ProcessorImage(
            f"{name}-processor-image",
            ProcessorImageArgs(
                subscription_id=args.subscription_id,
                resource_group_name=args.placement.resource_group_name,
                registry_name=args.registry_name,
                login_server=args.registry_login_server,
                source_dir=str(PROCESSOR_SOURCE),
                repository=PROCESSOR_REPOSITORY,
                builder=args.image_builder,
            ),
            child(args.registry_resource),
        )
        self.orchestrator_package = OrchestratorPackage(
            f"{name}-orchestrator-package",
            OrchestratorPackageArgs(
                subscription_id=args.subscription_id,
                resource_group_name=args.placement.resource_group_name,
                batch_account_name=args.batch_account_name,
                source_dir=str(ORCHESTRATOR_SOURCE),
                app_id=ORCHESTRATOR_APP_ID,
                keep_previous=KEEP_PREVIOUS_PACKAGES,
            ),
            child(args.batch_account_resource, args.package_depends_on),
        )
        self.processor_image = self.processor_image_build.image
        self.orchestrator_app_id = ORCHESTRATOR_APP_ID
        self.orchestrator_package_version = self.orchestrator_package.package_version
        self.orchestrator_application_id = self.orchestrator_package.application_resource_id
        self.pool_dependencies = (self.orchestrator_package,)
        self.register_outputs(
            {
                "processor_image": self.processor_image,
                "orchestrator_package_version": self.orchestrator_package_version,
                "orchestrator_application_id": self.orchestrator_application_id,
            }
        )
