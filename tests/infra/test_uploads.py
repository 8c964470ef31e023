"""Bags in: who may upload to raw/ (uploaderPrincipals) and from where (uploaderIpRanges), by
config, with nothing opened or granted by default. docs/operations.md "Bags in" has the commands."""

from __future__ import annotations

from infra.components.access import ROLE_IDS
from offline import run_stack

ROLE = "azure-native:authorization:RoleAssignment"
GROUP = "0a0a0a0a-1111-4222-8333-444444444444"
ROBOT = "5b5b5b5b-6666-4777-8888-999999999999"
OFFICE = "203.0.113.0/24"
ROBOT_IP = "198.51.100.7"


def test_uploaders_get_blob_write_on_the_data_container_and_their_networks_are_let_in() -> None:
    rec = run_stack(
        "prod",
        config_overrides={
            "uploaderPrincipals": [f"Group:{GROUP}", f"ServicePrincipal:{ROBOT.upper()}"],
            "uploaderIpRanges": [OFFICE, ROBOT_IP],
        },
    )
    container = rec.one("azure-native:storage:BlobContainer", "datalake-container")
    grants = {
        r.inputs["principalId"]: r.inputs
        for r in rec.of_type(ROLE)
        if r.name.startswith("uploader-")
    }
    assert set(grants) == {GROUP, ROBOT}
    for principal, kind in ((GROUP, "Group"), (ROBOT, "ServicePrincipal")):
        grant = grants[principal]
        assert grant["principalType"] == kind  # a wrong type is refused by Azure
        assert grant["scope"] == container.id  # the data container, not the account
        assert grant["roleDefinitionId"].endswith(ROLE_IDS["Storage Blob Data Contributor"])
        assert "raw/" in grant["description"]
    rules = rec.one("azure-native:storage:StorageAccount", "datalake-account").inputs[
        "networkRuleSet"
    ]
    assert rules["ipRules"] == [
        {"iPAddressOrRange": OFFICE, "action": "Allow"},
        {"iPAddressOrRange": ROBOT_IP, "action": "Allow"},  # a bare address, as Azure takes it
    ]
    assert rules["defaultAction"] == "Deny"  # everything else stays out (NFS needs Deny)


def test_by_default_nobody_is_granted_and_nothing_is_opened() -> None:
    rec = run_stack("prod")
    assert [r for r in rec.of_type(ROLE) if r.name.startswith("uploader-")] == []
    lake = rec.one("azure-native:storage:StorageAccount", "datalake-account").inputs
    assert lake["networkRuleSet"].get("ipRules", []) == []
    assert lake["allowSharedKeyAccess"] is False  # uploads use Entra ID, never the key
