"""The Data Factory's credential and linked services: how the factory authenticates, and what it
connects to.

Every linked service authenticates with a managed identity: the factory's user-assigned one
(through the credential), except the data lake's, which uses the factory's system-assigned one
because the lake's firewall admits ADF only through the trusted-services bypass, and that bypass
"cannot utilize user-assigned managed identities" (docs/azure-behaviour.md, "Storage"). No
access key, connection string or SAS is ever declared. The names are scoped to the factory
(which Pulumi auto-names), so pinning them cannot collide, and they read well in ADF Studio and
in the linkedServices.json the activity receives.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import datafactory as adf

if TYPE_CHECKING:
    from infra.components.data_factory import DataFactoryArgs

CREDENTIAL_NAME = "factory-identity"
STAGING_LINKED_SERVICE = "staging-blob"
BATCH_LINKED_SERVICE = "orchestrator-batch"
KEY_VAULT_LINKED_SERVICE = "key-vault"
DATA_LAKE_LINKED_SERVICE = "data-lake"


def linked_service_ref(name: pulumi.Input[str]) -> adf.LinkedServiceReferenceArgs:
    return adf.LinkedServiceReferenceArgs(
        reference_name=name, type=adf.Type.LINKED_SERVICE_REFERENCE
    )


def declare_linked_services(
    name: str, args: DataFactoryArgs, factory_name: pulumi.Input[str], parent: pulumi.Resource
) -> pulumi.Output[str]:
    """The credential and the four linked services, children of `parent`; returns the name of
    the Batch linked service the Custom activity runs on."""
    auth = _credential(name, args, factory_name, parent)
    child = pulumi.ResourceOptions(parent=parent)
    # Staging for the Custom activity (runtime files, stdout/stderr in `adfjobs`). It must be
    # Azure Blob, and the Batch auto-storage account rather than the NFS data lake, whose
    # network rules deny everything but the pool subnet.
    staging = adf.LinkedService(
        f"{name}-staging-blob",
        resource_group_name=args.resource_group_name,
        factory_name=factory_name,
        linked_service_name=STAGING_LINKED_SERVICE,
        properties=adf.AzureBlobStorageLinkedServiceArgs(
            type="AzureBlobStorage",
            service_endpoint=args.staging_blob_endpoint,
            account_kind="StorageV2",
            credential=auth,
        ),
        opts=child,
    )
    batch = adf.LinkedService(
        f"{name}-batch",
        resource_group_name=args.resource_group_name,
        factory_name=factory_name,
        linked_service_name=BATCH_LINKED_SERVICE,
        properties=adf.AzureBatchLinkedServiceArgs(
            type="AzureBatch",
            account_name=args.batch_account_name,
            batch_uri=args.batch_account_endpoint,
            pool_name=args.orchestrator_pool_id,
            linked_service_name=linked_service_ref(staging.name),
            # UNCONFIRMED GA: the docs table still lists accessKey as required, but the ARM
            # schema takes a credential; we never fall back to an account key.
            credential=auth,
        ),
        opts=child,
    )
    _studio_linked_services(name, args, factory_name, auth, parent)
    return batch.name


def _credential(
    name: str, args: DataFactoryArgs, factory_name: pulumi.Input[str], parent: pulumi.Resource
) -> adf.CredentialReferenceArgs:
    # The factory carries the identity; the credential lets linked services use it.
    credential = adf.CredentialOperation(
        f"{name}-credential",
        resource_group_name=args.resource_group_name,
        factory_name=factory_name,
        credential_name=CREDENTIAL_NAME,
        properties=adf.ManagedIdentityCredentialArgs(
            type="ManagedIdentity", resource_id=args.factory_identity_id
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return adf.CredentialReferenceArgs(
        reference_name=credential.name, type=adf.CredentialReferenceType.CREDENTIAL_REFERENCE
    )


def _studio_linked_services(
    name: str,
    args: DataFactoryArgs,
    factory_name: pulumi.Input[str],
    auth: adf.CredentialReferenceArgs,
    parent: pulumi.Resource,
) -> None:
    child = pulumi.ResourceOptions(parent=parent)
    # Not used by the pipeline today: these let pipelines authored in ADF Studio read secrets
    # and the data lake with the same identity, without anyone adding a key.
    adf.LinkedService(
        f"{name}-key-vault",
        resource_group_name=args.resource_group_name,
        factory_name=factory_name,
        linked_service_name=KEY_VAULT_LINKED_SERVICE,
        properties=adf.AzureKeyVaultLinkedServiceArgs(
            type="AzureKeyVault", base_url=args.key_vault_uri, credential=auth
        ),
        opts=child,
    )
    adf.LinkedService(
        f"{name}-data-lake",
        resource_group_name=args.resource_group_name,
        factory_name=factory_name,
        linked_service_name=DATA_LAKE_LINKED_SERVICE,
        # No credential: ADLS Gen2 with the factory's system-assigned identity, the only one the
        # lake's trusted-services bypass admits (see the factory's identity, data_factory.py).
        properties=adf.AzureBlobFSLinkedServiceArgs(
            type="AzureBlobFS", url=args.data_lake_dfs_endpoint
        ),
        opts=child,
    )
