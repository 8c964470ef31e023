"""The real program under the offline mocks, for every Pulumi.<stack>.yaml: each requirement
that Azure would otherwise only reveal at `pulumi up` (docs/azure-behaviour.md, with sources)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components.access import ROLE_IDS, assignment_name, deployer_principal_type
from infra.node_commands import app_package_env_var
from offline import (
    MOCK_DEPLOYER_OBJECT_ID,
    MOCK_SUBSCRIPTION_ID,
    RecordedResource,
    Recording,
    run_stack,
    stack_names,
)

STACKS = stack_names()
ACCOUNT = "azure-native:storage:StorageAccount"
POOL = "azure-native:batch:Pool"
ROLE = "azure-native:authorization:RoleAssignment"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"
DATASET = "azure-native:datafactory:Dataset"


@pytest.fixture(params=STACKS)
def rec(request: pytest.FixtureRequest, recordings: dict[str, Recording]) -> Recording:
    return recordings[request.param]


def identity(rec: Recording, role: str) -> RecordedResource:
    """One of the stack's identities: execution, orchestrator, batch-account or factory."""
    return rec.one(UAMI, f"identity-{role}")


def test_four_identities_one_per_job(rec: Recording) -> None:
    names = sorted(i.name for i in rec.of_type(UAMI))
    assert names == [
        "identity-batch-account",
        "identity-execution",
        "identity-factory",
        "identity-orchestrator",
    ]


def pools(rec: Recording) -> dict[str, RecordedResource]:
    return {p.inputs["poolName"]: p for p in rec.of_type(POOL)}


def vm_config(pool: RecordedResource) -> dict[str, Any]:
    return pool.inputs["deploymentConfiguration"]["virtualMachineConfiguration"]


def test_every_resource_lives_in_the_stacks_resource_group(rec: Recording) -> None:
    group = rec.one("azure-native:resources:ResourceGroup")
    assert group.inputs["resourceGroupName"] == f"rg-rosbag-batch-{rec.stack}"
    for resource in rec.resources:
        if resource.custom and "resourceGroupName" in resource.inputs:
            assert resource.inputs["resourceGroupName"] == group.state["name"], resource.name


def test_subnet_endpoints_nat_and_no_default_outbound(rec: Recording) -> None:
    subnet = rec.one("azure-native:network:Subnet")
    services = {e["service"] for e in subnet.inputs["serviceEndpoints"]}
    assert services == {"Microsoft.Storage", "Microsoft.KeyVault", "Microsoft.ContainerRegistry"}
    assert subnet.inputs["defaultOutboundAccess"] is False
    assert subnet.inputs["natGateway"]["id"] == rec.one("azure-native:network:NatGateway").id
    nsg = rec.one("azure-native:network:NetworkSecurityGroup")
    assert subnet.inputs["networkSecurityGroup"]["id"] == nsg.id
    ip = rec.one("azure-native:network:PublicIPAddress").inputs
    assert (ip["sku"]["name"], ip["publicIPAllocationMethod"]) == ("Standard", "Static")
    assert len(rec.of_type("azure-native:network:VirtualNetwork")) == 1


def test_nsg_allows_batch_management_and_nfs_and_admits_nothing_inbound(rec: Recording) -> None:
    rules = rec.one("azure-native:network:NetworkSecurityGroup").inputs["securityRules"]
    outbound = {r["destinationAddressPrefix"]: r for r in rules if r["direction"] == "Outbound"}
    assert outbound["BatchNodeManagement"]["destinationPortRanges"] == ["443"]
    assert {"111", "2048", "443"} <= set(outbound["Storage"]["destinationPortRanges"])
    assert all(r["access"] == "Allow" for r in outbound.values())
    inbound_allows = [r for r in rules if r["direction"] == "Inbound" and r["access"] == "Allow"]
    assert inbound_allows == []


def test_data_lake_is_an_nfs_account_behind_the_subnet_rule(rec: Recording) -> None:
    lake = rec.one(ACCOUNT, "datalake-account")
    inputs = lake.inputs
    assert (inputs["kind"], inputs["isHnsEnabled"], inputs["enableNfsV3"]) == (
        "StorageV2",
        True,
        True,
    )
    assert inputs["sku"]["name"] in ("Standard_LRS", "Standard_ZRS")
    rules = inputs["networkRuleSet"]
    assert (rules["defaultAction"], rules["bypass"]) == ("Deny", "AzureServices")
    subnet = rec.one("azure-native:network:Subnet")
    assert rules["virtualNetworkRules"] == [
        {"virtualNetworkResourceId": subnet.id, "action": "Allow"}
    ]
    assert inputs["allowBlobPublicAccess"] is False
    assert {"isHnsEnabled", "enableNfsV3"} <= set(lake.options.replace_on_changes)
    container = rec.one("azure-native:storage:BlobContainer", "datalake-container")
    assert container.inputs["containerName"] == "data"


def test_prod_protects_the_data_lake_and_purge_protects_the_vault(
    recordings: dict[str, Recording],
) -> None:
    prod, dev = recordings["prod"], recordings["dev"]
    assert prod.one(ACCOUNT, "datalake-account").options.protect
    assert not dev.one(ACCOUNT, "datalake-account").options.protect
    assert (
        prod.one("azure-native:keyvault:Vault").inputs["properties"]["enablePurgeProtection"]
        is True
    )
    # false is refused by Azure and irreversible once true: dev omits it.
    assert (
        "enablePurgeProtection" not in dev.one("azure-native:keyvault:Vault").inputs["properties"]
    )


def test_the_data_lake_takes_no_shared_key_and_opens_to_no_ip_by_default(rec: Recording) -> None:
    assert rec.of_type("azure-native:storage:Blob") == []  # it would upload with the key
    lake = rec.one(ACCOUNT, "datalake-account").inputs
    assert lake["allowSharedKeyAccess"] is False
    assert lake["networkRuleSet"].get("ipRules", []) == []


SEED = "pulumi-python:dynamic/rosbag:SampleSeed"


def test_a_default_dev_up_seeds_the_sample_bag_into_raw(recordings: dict[str, Recording]) -> None:
    dev = recordings["dev"]
    [seed] = dev.of_type(SEED)
    lake = dev.one(ACCOUNT, "datalake-account").state["name"]
    assert seed.inputs["destination"] == f"{lake}/data/raw/gps-navsatfix.bag"
    batch_storage = dev.one(ACCOUNT, "batchstorage-account").state["name"]
    assert seed.inputs["staging_blob_url"] == (
        f"https://{batch_storage}.blob.core.windows.net/samples/gps-navsatfix.bag"
    )
    # The pipeline it runs: one binary copy from there to there, through the factory's linked
    # services (which authenticate with the factory's identity).
    pipeline = dev.one("azure-native:datafactory:Pipeline", "sample-pipeline")
    assert seed.inputs["pipeline_name"] == pipeline.state["name"]
    [copy] = pipeline.inputs["activities"]
    assert copy["type"] == "Copy"
    # The factory's system-assigned identity is new on every fresh stack, and its role can take
    # up to 30 minutes to apply: the copy retries for about that long within the seed's budget.
    policy = copy["policy"]
    waits = policy["retry"] * policy["retryIntervalInSeconds"]
    assert 1200 <= waits < seed.inputs["timeout_seconds"]
    datasets = {d.inputs["datasetName"]: d.inputs["properties"] for d in dev.of_type(DATASET)}
    source = datasets[copy["inputs"][0]["referenceName"]]
    sink = datasets[copy["outputs"][0]["referenceName"]]
    assert source["linkedServiceName"]["referenceName"] == "staging-blob"
    assert source["location"] == {
        "type": "AzureBlobStorageLocation",
        "container": "samples",
        "fileName": "gps-navsatfix.bag",
    }
    assert sink["linkedServiceName"]["referenceName"] == "data-lake"
    assert sink["location"] == {
        "type": "AzureBlobFSLocation",
        "fileSystem": "data",
        "folderPath": "raw",
        "fileName": "gps-navsatfix.bag",
    }
    linked = {
        ls.inputs["linkedServiceName"]: ls
        for ls in dev.of_type("azure-native:datafactory:LinkedService")
    }
    assert {"staging-blob", "data-lake"} <= set(linked)
    # Runs after the linked services, the factory identity's roles and the deployer's.
    needs = set(seed.options.depends_on)
    assert {linked["staging-blob"].urn, linked["data-lake"].urn} <= needs
    assert grant_urns(dev, "factory-access") <= needs
    assert grant_urns(dev, "deployer-access") <= needs


def test_prod_seeds_no_sample(recordings: dict[str, Recording]) -> None:
    assert recordings["prod"].of_type(SEED) == []


def test_batch_storage_has_the_task_logs_container(rec: Recording) -> None:
    container = rec.one("azure-native:storage:BlobContainer", "batchstorage-task-logs")
    assert container.inputs["containerName"] == "task-logs"
    account = rec.one(ACCOUNT, "batchstorage-account")
    assert container.inputs["accountName"] == account.state["name"]


def test_key_vault_rbac_soft_delete_and_the_connection_string_secret(rec: Recording) -> None:
    vault = rec.one("azure-native:keyvault:Vault")
    props = vault.inputs["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    assert 7 <= props["softDeleteRetentionInDays"] <= 90
    assert props["sku"] == {"family": "A", "name": "standard"}
    secret = rec.one("azure-native:keyvault:Secret")
    assert secret.inputs["secretName"] == "appinsights-connection-string"
    assert "properties" in secret.secret_inputs  # the value travels encrypted
    insights = rec.one("azure-native:applicationinsights:Component")
    assert secret.inputs["properties"]["value"] == insights.state["connectionString"]


def test_application_insights_is_workspace_based(rec: Recording) -> None:
    insights = rec.one("azure-native:applicationinsights:Component")
    workspace = rec.one("azure-native:operationalinsights:Workspace")
    assert insights.inputs["workspaceResourceId"] == workspace.id
    assert insights.inputs["ingestionMode"] == "LogAnalytics"
    assert "connectionString" in insights.options.additional_secret_outputs


def test_registry_has_no_admin_user(rec: Recording) -> None:
    registry = rec.one("azure-native:containerregistry:Registry").inputs
    assert registry["adminUserEnabled"] is False
    assert "roleAssignmentMode" not in registry  # ABAC mode would ignore AcrPull


def test_batch_account_uses_its_identity_for_auto_storage_and_aad_only(rec: Recording) -> None:
    account = rec.one("azure-native:batch:BatchAccount")
    inputs = account.inputs
    assert inputs["poolAllocationMode"] == "BatchService"
    assert inputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": [identity(rec, "batch-account").id],
    }
    # Nodes reach auto-storage (the package) as the orchestrator pool's identity, which must
    # therefore be that pool's (pulumi_azure_native/batch/_inputs.py:255).
    assert inputs["autoStorage"] == {
        "storageAccountId": rec.one(ACCOUNT, "batchstorage-account").id,
        "authenticationMode": "BatchAccountManagedIdentity",
        "nodeIdentityReference": {"resourceId": identity(rec, "orchestrator").id},
    }
    assert inputs["allowedAuthenticationModes"] == ["AAD", "TaskAuthenticationToken"]


def test_each_pool_carries_only_its_own_identity(rec: Recording) -> None:
    # Any task on a node can get a token for the pool's identities (docs/azure-behaviour.md).
    for pool_id, role in (("orchestrator", "orchestrator"), ("execution", "execution")):
        assert pools(rec)[pool_id].inputs["identity"] == {
            "type": "UserAssigned",
            "userAssignedIdentities": [identity(rec, role).id],
        }
    env = {
        e["name"]: e["value"]
        for e in pools(rec)["orchestrator"].inputs["startTask"]["environmentSettings"]
    }
    assert env["AZURE_CLIENT_ID"] == identity(rec, "orchestrator").state["clientId"]


def test_pools_share_network_and_the_nfs_mount(rec: Recording) -> None:
    by_id = pools(rec)
    assert set(by_id) == {"orchestrator", "execution"}
    lake = rec.one(ACCOUNT, "datalake-account").state["name"]
    subnet = rec.one("azure-native:network:Subnet")
    for pool in by_id.values():
        inputs = pool.inputs
        network = inputs["networkConfiguration"]
        assert network["subnetId"] == subnet.id
        assert network["publicIPAddressConfiguration"] == {"provision": "NoPublicIPAddresses"}
        assert inputs["targetNodeCommunicationMode"] == "Simplified"
        assert inputs["mountConfiguration"] == [
            {
                "nfsMountConfiguration": {
                    "source": f"{lake}.blob.core.windows.net:/{lake}/data",
                    "relativeMountPath": "data",
                    "mountOptions": "-o sec=sys,vers=3,nolock,proto=tcp",
                }
            }
        ]
        assert vm_config(pool)["nodeAgentSkuId"] == "batch.node.ubuntu 24.04"
        start = inputs["startTask"]
        assert start["waitForSuccess"] is True
        assert start["userIdentity"]["autoUser"]["elevationLevel"] == "Admin"
        assert "chmod 0755" in start["commandLine"]


def test_pools_are_replaced_not_updated_where_azure_refuses_updates(rec: Recording) -> None:
    # Any change (tests/infra/test_pool_updates.py plays them against Batch's refusals).
    for pool in pools(rec).values():
        assert pool.options.replace_on_changes == ("*",)
        assert pool.options.delete_before_replace  # fixed pool ids: the old one must go first


def grant_urns(rec: Recording, component: str) -> set[str]:
    grants = {r.urn for r in rec.of_type(ROLE) if r.name.startswith(f"{component}-")}
    assert grants
    return grants


def test_pools_wait_for_the_role_assignments_and_the_data_lake(rec: Recording) -> None:
    lake = rec.one(ACCOUNT, "datalake-account")
    for pool in pools(rec).values():
        assert grant_urns(rec, "execution-access") <= set(pool.options.depends_on)
        assert grant_urns(rec, "orchestrator-access") <= set(pool.options.depends_on)
        assert lake.urn in pool.options.depends_on


def test_orchestrator_pool_runs_the_package_self_check(rec: Recording) -> None:
    pool = pools(rec)["orchestrator"]
    image = vm_config(pool)["imageReference"]
    assert (image["publisher"], image["offer"], image["sku"]) == (
        "canonical",
        "ubuntu-24_04-lts",
        "server",
    )
    version = rec.outputs["orchestratorPackageVersion"].value
    account = rec.one("azure-native:batch:BatchAccount")
    assert pool.inputs["applicationPackages"] == [
        {"id": f"{account.id}/applications/orchestrator", "version": version}
    ]
    command = pool.inputs["startTask"]["commandLine"]
    assert command.startswith("/bin/bash -c ")
    assert app_package_env_var("orchestrator", version) in command
    assert "self-check" in command
    assert "pip install" not in command  # Ubuntu 24.04's Python is externally managed


def test_execution_pool_pulls_and_prefetches_the_image_with_the_identity(rec: Recording) -> None:
    pool = pools(rec)["execution"]
    vm = vm_config(pool)
    image = vm["imageReference"]
    assert (image["publisher"], image["offer"], image["sku"]) == (
        "microsoft-dsvm",
        "ubuntu-hpc",
        "2404",
    )
    registry = rec.one("azure-native:containerregistry:Registry").state["loginServer"]
    assert vm["containerConfiguration"] == {
        "type": "DockerCompatible",
        "containerImageNames": [rec.outputs["processorImage"].value],
        "containerRegistries": [
            {
                "registryServer": registry,
                "identityReference": {"resourceId": identity(rec, "execution").id},
            }
        ],
    }
    assert rec.outputs["processorImage"].value.startswith(f"{registry}/processor@sha256:")


def test_autoscale_follows_config_and_goes_to_zero(rec: Recording) -> None:
    config = rec.config
    for pool_id, key in (("orchestrator", "orchestrator"), ("execution", "execution")):
        pool = pools(rec)[pool_id]
        auto = pool.inputs["scaleSettings"]["autoScale"]
        max_nodes = int(config[f"rosbag-batch:{key}MaxNodes"])
        slots = int(config[f"rosbag-batch:{key}TaskSlotsPerNode"])
        assert pool.inputs["taskSlotsPerNode"] == slots
        assert f"min({max_nodes}, $wanted)" in auto["formula"]
        assert "max(0," in auto["formula"]
        assert "$NodeDeallocationOption = taskcompletion;" in auto["formula"]
        assert auto["evaluationInterval"] == "PT5M"
        assert "fixedScale" not in pool.inputs["scaleSettings"]


# Who holds which role where: principal (an identity's logical name, or "deployer") -> the set
# of (role, the one resource it is scoped to). Nothing else is granted, to anyone.
EXPECTED_GRANTS: dict[str, set[tuple[str, str]]] = {
    # Parses untrusted bags: pulls its image and writes its logs, nothing else, nowhere else.
    "identity-execution": {
        ("AcrPull", "registry-acr"),
        ("Storage Blob Data Contributor", "batchstorage-task-logs"),
    },
    "identity-orchestrator": {
        ("Azure Batch Job Submitter", "batch-account"),
        ("Key Vault Secrets User", "secrets-vault"),
        ("Storage Blob Data Reader", "batchstorage-account"),
        ("Storage Blob Data Contributor", "batchstorage-adfjobs"),
        # Delta commits over the Blob API; a condition keeps its writes under lake/
        # (tests/infra/test_lake_access.py).
        ("Storage Blob Data Contributor", "datalake-container"),
    },
    "identity-batch-account": {("Storage Blob Data Contributor", "batchstorage-account")},
    "identity-factory": {
        ("Azure Batch Job Submitter", "batch-account"),
        ("Storage Blob Data Contributor", "batchstorage-adfjobs"),
        # The seed pipeline reads the sample from Batch storage (not firewalled).
        ("Storage Blob Data Reader", "batchstorage-samples"),
    },
    # The factory's system-assigned identity: the only one the lake's trusted-services bypass
    # admits; the seed pipeline writes the sample into raw/ with it.
    "datafactory-factory": {("Storage Blob Data Contributor", "datalake-container")},
    # pulumi up uploads the orchestrator package with Entra ID (no SAS in the upload URL).
    # ops run (CI, after each deploy) reads task counts: Owner holds no Batch data action.
    "deployer": {
        ("Storage Blob Data Contributor", "batchstorage-account"),
        ("Azure Batch Job Submitter", "batch-account"),
    },
}
# Roles that manage resources (control-plane actions beyond reading) rather than data.
MANAGEMENT_ROLES = {"Contributor", "Owner", "Azure Batch Account Contributor"}
FACTORY_TYPE = "azure-native:datafactory:Factory"
ROLE_DEFINITIONS = f"/subscriptions/{MOCK_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/"


def granted_roles(rec: Recording) -> dict[str, set[tuple[str, str]]]:
    """What the recording grants, shaped like EXPECTED_GRANTS; checks each assignment too."""
    role_by_definition = {
        f"{ROLE_DEFINITIONS}roleDefinitions/{guid}": role for role, guid in ROLE_IDS.items()
    }
    resource_by_id = {r.id: r for r in rec.resources if r.custom}
    principals = {i.state["principalId"]: i.name for i in rec.of_type(UAMI)}
    principals[MOCK_DEPLOYER_OBJECT_ID] = "deployer"
    principals.update(
        {f.state["identity"]["principalId"]: f.name for f in rec.of_type(FACTORY_TYPE)}
    )
    granted: dict[str, set[tuple[str, str]]] = {}
    for assignment in rec.of_type(ROLE):
        inputs = assignment.inputs
        role = role_by_definition[inputs["roleDefinitionId"]]
        holder = principals[inputs["principalId"]]
        # Identities are service principals; so is the mocks' deployer (its client id is no
        # user sign-in app). A wrong type is refused by Azure (UnmatchedPrincipalType).
        assert inputs["principalType"] == "ServicePrincipal"
        assert inputs["description"], f"{assignment.name} has no reason"
        # Deterministic name: a re-run updates in place instead of duplicating.
        assert inputs["roleAssignmentName"] == assignment_name(
            inputs["scope"], ROLE_IDS[role], inputs["principalId"]
        )
        # Scoped to one resource of the stack, never the group or the subscription.
        granted.setdefault(holder, set()).add((role, resource_by_id[inputs["scope"]].name))
    return granted


def test_role_assignments_are_least_privilege_and_explained(rec: Recording) -> None:
    assert granted_roles(rec) == EXPECTED_GRANTS
    assert len(rec.of_type(ROLE)) == sum(len(g) for g in EXPECTED_GRANTS.values())


def test_no_identity_holds_a_management_role_and_the_execution_one_nothing_on_batch(
    rec: Recording,
) -> None:
    granted = granted_roles(rec)
    assert not {role for roles in granted.values() for role, _ in roles} & MANAGEMENT_ROLES
    assert {scope for _, scope in granted["identity-execution"]} == {
        "registry-acr",
        "batchstorage-task-logs",
    }


def test_the_package_is_uploaded_after_the_deployer_holds_its_blob_role(rec: Recording) -> None:
    package = rec.one("pulumi-python:dynamic/rosbag:OrchestratorPackage")
    [grant] = [r for r in rec.of_type(ROLE) if r.name == "deployer-access-batch-storage-blob"]
    assert grant.inputs["principalId"] == MOCK_DEPLOYER_OBJECT_ID
    assert grant.urn in package.options.depends_on


def test_batch_account_waits_for_its_storage_access(rec: Recording) -> None:
    account = rec.one("azure-native:batch:BatchAccount")
    assert grant_urns(rec, "batch-account-access") <= set(account.options.depends_on)


def test_the_factory_carries_its_own_identity(rec: Recording) -> None:
    factory = rec.one("azure-native:datafactory:Factory").inputs
    assert list(factory["identity"]["userAssignedIdentities"]) == [identity(rec, "factory").id]
    credential = rec.one("azure-native:datafactory:CredentialOperation").inputs
    assert credential["properties"]["resourceId"] == identity(rec, "factory").id
    batch_ls = next(
        ls
        for ls in rec.of_type("azure-native:datafactory:LinkedService")
        if ls.inputs["properties"]["type"] == "AzureBatch"
    )
    assert batch_ls.inputs["properties"]["poolName"] == "orchestrator"


OUTPUTS = {
    "subscriptionId",
    "location",
    "resourceGroupName",
    "dataFactoryName",
    "pipelineName",
    "batchAccountName",
    "batchAccountEndpoint",
    "orchestratorPoolId",
    "executionPoolId",
    "registryLoginServer",
    "processorImage",
    "orchestratorPackageVersion",
    "dataLakeAccountName",
    "dataLakeContainer",
    "rawPath",
    "extractedPath",
    "keyVaultUri",
    "applicationInsightsConnectionString",
}


def test_stack_outputs_match_the_contract_and_only_the_connection_string_is_secret(
    rec: Recording,
) -> None:
    assert set(rec.outputs) == OUTPUTS
    secret = {name for name, output in rec.outputs.items() if output.secret}
    assert secret == {"applicationInsightsConnectionString"}
    plain = " ".join(str(o.value) for o in rec.outputs.values() if not o.secret)
    assert "InstrumentationKey" not in plain and "AccountKey" not in plain and "sig=" not in plain
    assert rec.outputs["batchAccountEndpoint"].value == (
        f"https://{rec.outputs['batchAccountName'].value}.{rec.config['azure-native:location']}.batch.azure.com"
    )
    assert (rec.outputs["rawPath"].value, rec.outputs["extractedPath"].value) == (
        "raw/",
        "extracted/",
    )
    assert rec.outputs["pipelineName"].value == "extract-bags"


def test_physical_names_are_derived_and_stable(recordings: dict[str, Recording]) -> None:
    dev, prod = recordings["dev"], recordings["prod"]
    assert dev.outputs["dataLakeAccountName"].value != prod.outputs["dataLakeAccountName"].value
    for rec in (dev, prod):
        assert (
            rec.one(ACCOUNT, "datalake-account").inputs["accountName"]
            == rec.outputs["dataLakeAccountName"].value
        )


def test_the_activity_is_wired_to_this_stacks_resources(rec: Recording) -> None:
    # docs/contracts.md §3 values, as the orchestrator will read them from activity.json:
    # each must be the value of the resource this stack declares, not a literal.
    activities = rec.one("azure-native:datafactory:Pipeline", "datafactory-pipeline").inputs[
        "activities"
    ]
    [activity] = [a for a in activities if a["type"] == "Custom"]
    props = activity["extendedProperties"]
    batch_storage = rec.one(ACCOUNT, "batchstorage-account").state["name"]
    assert props["batchAccountEndpoint"] == rec.outputs["batchAccountEndpoint"].value
    assert props["executionPoolId"] == "execution"
    assert props["processorImage"] == rec.outputs["processorImage"].value
    assert props["registryServer"] == rec.outputs["registryLoginServer"].value
    # The orchestrator signs in as its own identity; its tasks run as the execution identity.
    assert props["orchestratorIdentityClientId"] == identity(rec, "orchestrator").state["clientId"]
    assert props["executionIdentityResourceId"] == identity(rec, "execution").id
    assert props["mountPath"] == "data"
    assert props["taskLogsContainerUrl"] == (
        f"https://{batch_storage}.blob.core.windows.net/task-logs"
    )
    assert props["keyVaultUri"] == rec.outputs["keyVaultUri"].value
    assert props["appInsightsSecretName"] == rec.one("azure-native:keyvault:Secret").state["name"]
    version = rec.outputs["orchestratorPackageVersion"].value
    # The activity and the orchestrator pool reference the same package version.
    assert app_package_env_var("orchestrator", version) in activity["command"]
    assert pools(rec)["orchestrator"].inputs["applicationPackages"][0]["version"] == version


@pytest.mark.parametrize(
    ("configured", "client_id", "expected"),
    [
        ("", "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "User"),  # az login as a person
        ("", "5a8e0b3c-0000-4000-8000-00000000c1c1", "ServicePrincipal"),  # CI's own app
        ("User", "5a8e0b3c-0000-4000-8000-00000000c1c1", "User"),
    ],
)
def test_the_deployers_principal_type_follows_its_sign_in(
    configured: str, client_id: str, expected: str
) -> None:
    assert deployer_principal_type(client_id, configured) == expected


def test_the_deployer_principal_type_can_be_set_by_config() -> None:
    rec = run_stack("dev", config_overrides={"deployerPrincipalType": "User"})
    [grant] = [r for r in rec.of_type(ROLE) if r.name == "deployer-access-batch-storage-blob"]
    assert grant.inputs["principalType"] == "User"
