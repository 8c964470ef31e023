"""The real program under the offline mocks, for every Pulumi.<stack>.yaml: each checklist
requirement that Azure would otherwise only reveal at `pulumi up` (AZURE-CHECKLIST.md)."""

from __future__ import annotations

from typing import Any

import pytest

from infra.components.access import ROLE_IDS, assignment_name
from infra.naming import app_package_env_var
from infra.offline import MOCK_SUBSCRIPTION_ID, RecordedResource, Recording, stack_names
from tests.infra.conftest import DEPLOYER_IP

STACKS = stack_names()
ACCOUNT = "azure-native:storage:StorageAccount"
POOL = "azure-native:batch:Pool"
ROLE = "azure-native:authorization:RoleAssignment"
UAMI = "azure-native:managedidentity:UserAssignedIdentity"


@pytest.fixture(params=STACKS)
def rec(request: pytest.FixtureRequest, recordings: dict[str, Recording]) -> Recording:
    return recordings[request.param]


def identity(rec: Recording) -> RecordedResource:
    return rec.one(UAMI)


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


def test_without_deployer_ranges_no_sample_and_no_shared_keys(
    recordings: dict[str, Recording],
) -> None:
    dev = recordings["dev"]
    assert dev.of_type("azure-native:storage:Blob") == []
    lake = dev.one(ACCOUNT, "datalake-account").inputs
    assert lake["allowSharedKeyAccess"] is False
    assert lake["networkRuleSet"].get("ipRules", []) == []


def test_sample_bag_goes_to_raw_through_the_deployer_rule(dev_with_sample: Recording) -> None:
    blob = dev_with_sample.one("azure-native:storage:Blob")
    assert blob.inputs["blobName"] == "raw/gps-navsatfix.bag"
    assert blob.inputs["containerName"] == "data"
    assert blob.options.retain_on_delete
    lake = dev_with_sample.one(ACCOUNT, "datalake-account").inputs
    assert lake["networkRuleSet"]["ipRules"] == [
        {"iPAddressOrRange": DEPLOYER_IP, "action": "Allow"}
    ]
    # azure-native's Blob uploads with the listed account key (pulumi-azure-native#2015).
    assert lake["allowSharedKeyAccess"] is True


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


def test_batch_account_uses_the_identity_for_auto_storage_and_aad_only(rec: Recording) -> None:
    account = rec.one("azure-native:batch:BatchAccount")
    uami = identity(rec)
    inputs = account.inputs
    assert inputs["poolAllocationMode"] == "BatchService"
    assert inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [uami.id]}
    assert inputs["autoStorage"] == {
        "storageAccountId": rec.one(ACCOUNT, "batchstorage-account").id,
        "authenticationMode": "BatchAccountManagedIdentity",
        "nodeIdentityReference": {"resourceId": uami.id},
    }
    assert inputs["allowedAuthenticationModes"] == ["AAD", "TaskAuthenticationToken"]


def test_pools_share_network_identity_and_the_nfs_mount(rec: Recording) -> None:
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
        assert inputs["identity"] == {
            "type": "UserAssigned",
            "userAssignedIdentities": [identity(rec).id],
        }
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
    for pool in pools(rec).values():
        replaced = set(pool.options.replace_on_changes)
        assert {
            "applicationPackages",
            "deploymentConfiguration",
            "networkConfiguration",
            "mountConfiguration",
            "identity",
        } <= replaced
        assert pool.options.delete_before_replace  # fixed pool ids: the old one must go first


def grant_urns(rec: Recording, component: str) -> set[str]:
    grants = {r.urn for r in rec.of_type(ROLE) if r.name.startswith(f"{component}-")}
    assert grants
    return grants


def test_pools_wait_for_the_role_assignments_and_the_data_lake(rec: Recording) -> None:
    lake = rec.one(ACCOUNT, "datalake-account")
    for pool in pools(rec).values():
        assert grant_urns(rec, "resource-access") <= set(pool.options.depends_on)
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
            {"registryServer": registry, "identityReference": {"resourceId": identity(rec).id}}
        ],
    }
    assert rec.outputs["processorImage"].value.startswith(f"{registry}/processor:")


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


# (role, the one resource it is scoped to)
EXPECTED_GRANTS = {
    ("AcrPull", "registry-acr"),
    ("Storage Blob Data Contributor", "batchstorage-account"),
    ("Storage Blob Data Reader", "datalake-account"),
    ("Key Vault Secrets User", "secrets-vault"),
    ("Azure Batch Job Submitter", "batch-account"),
    ("Contributor", "batch-account"),
}
ROLE_DEFINITIONS = f"/subscriptions/{MOCK_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/"


def test_role_assignments_are_least_privilege_and_explained(rec: Recording) -> None:
    role_by_definition = {
        f"{ROLE_DEFINITIONS}roleDefinitions/{guid}": role for role, guid in ROLE_IDS.items()
    }
    resource_by_id = {r.id: r for r in rec.resources if r.custom}
    principal = identity(rec).state["principalId"]
    granted = set()
    for assignment in rec.of_type(ROLE):
        inputs = assignment.inputs
        role = role_by_definition[inputs["roleDefinitionId"]]
        assert inputs["principalId"] == principal
        assert inputs["principalType"] == "ServicePrincipal"
        assert inputs["description"], f"{assignment.name} has no reason"
        # Scoped to one resource of the stack, never the group or the subscription.
        granted.add((role, resource_by_id[inputs["scope"]].name))
        # Deterministic name: a re-run updates in place instead of duplicating.
        assert inputs["roleAssignmentName"] == assignment_name(
            inputs["scope"], ROLE_IDS[role], principal
        )
    assert granted == EXPECTED_GRANTS
    assert len(rec.of_type(ROLE)) == len(EXPECTED_GRANTS)


def test_batch_account_waits_for_its_storage_access(rec: Recording) -> None:
    account = rec.one("azure-native:batch:BatchAccount")
    assert grant_urns(rec, "resource-access") <= set(account.options.depends_on)


def test_factory_uses_the_shared_identity(rec: Recording) -> None:
    factory = rec.one("azure-native:datafactory:Factory").inputs
    assert identity(rec).id in factory["identity"]["userAssignedIdentities"]
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
    activities = rec.one("azure-native:datafactory:Pipeline").inputs["activities"]
    [activity] = [a for a in activities if a["type"] == "Custom"]
    props = activity["extendedProperties"]
    uami = identity(rec)
    batch_storage = rec.one(ACCOUNT, "batchstorage-account").state["name"]
    assert props["batchAccountEndpoint"] == rec.outputs["batchAccountEndpoint"].value
    assert props["executionPoolId"] == "execution"
    assert props["processorImage"] == rec.outputs["processorImage"].value
    assert props["registryServer"] == rec.outputs["registryLoginServer"].value
    assert props["executionIdentityResourceId"] == uami.id
    assert props["orchestratorIdentityClientId"] == uami.state["clientId"]
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
