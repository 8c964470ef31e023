"""Stack configuration: Pulumi.yaml and infra/config.py agree, and bad values fail before any
resource is declared, with a message naming the key and what is expected."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.config import CONFIG_KEYS, ConfigError, ConfigErrors, StackConfig
from offline import (
    REPO_ROOT,
    OfflineError,
    RecordedResource,
    load_stack_config,
    run_stack,
    stack_names,
)

SCHEMA: dict[str, Any] = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]


def test_every_key_is_declared_with_a_description_and_the_same_default() -> None:
    assert set(SCHEMA) == set(CONFIG_KEYS)
    defaults = StackConfig(location="westeurope")
    for key, spec in SCHEMA.items():
        assert spec.get("description"), key
        attribute = CONFIG_KEYS[key][0]
        expected = getattr(defaults, attribute)
        declared = spec["default"]
        assert (tuple(declared) if isinstance(declared, list) else declared) == expected, key


def test_both_stacks_exist_and_prod_is_hardened() -> None:
    assert {"dev", "prod"} <= set(stack_names())
    prod = load_stack_config("prod")
    assert prod["rosbag-batch:keyVaultPurgeProtection"] == "true"
    assert prod["rosbag-batch:protectDataLake"] == "true"
    assert load_stack_config("dev")["rosbag-batch:keyVaultPurgeProtection"] == "false"


def test_stack_file_values_override_schema_defaults() -> None:
    dev = load_stack_config("dev")
    assert dev["azure-native:location"] == "westeurope"
    assert dev["rosbag-batch:executionMaxNodes"] == "2"  # from Pulumi.dev.yaml
    assert dev["rosbag-batch:orchestratorMaxNodes"] == "1"  # schema default
    assert dev["rosbag-batch:uploaderIpRanges"] == "[]"  # arrays travel as JSON text


@pytest.mark.parametrize(
    ("overrides", "key", "expected"),
    [
        ({"vnetAddressSpace": "10.40.0.0/33"}, "vnetAddressSpace", "not a valid CIDR"),
        ({"vnetAddressSpace": "10.40.0.1/16"}, "vnetAddressSpace", "not a valid CIDR"),
        ({"vnetAddressSpace": "172.16.0.0/12"}, "vnetAddressSpace", "Docker's bridge"),
        (
            {"subnetAddressPrefix": "10.99.0.0/24"},
            "subnetAddressPrefix",
            "outside vnetAddressSpace",
        ),
        ({"subnetAddressPrefix": "10.40.0.0/29"}, "subnetAddressPrefix", "too small"),
        ({"executionMaxNodes": -1}, "executionMaxNodes", "expected at least 1"),
        ({"orchestratorMaxNodes": 0}, "orchestratorMaxNodes", "expected at least 1"),
        ({"executionMaxNodes": "many"}, "executionMaxNodes", "not an integer"),
        ({"executionTaskSlotsPerNode": 0}, "executionTaskSlotsPerNode", "1 to 256"),
        ({"executionMaxNodes": 2000}, "subnetAddressPrefix", "usable addresses"),
        ({"exectionMaxNodes": 3}, "exectionMaxNodes", "not a known key"),
        # Second newcomer: the closest key is named, the example fits the key, host bits are said.
        ({"executionVmsize": "Standard_D4s_v5"}, "executionVmsize", "did you mean executionVmSize"),
        (
            {"uploaderPrincipals": "User:123"},
            "uploaderPrincipals",
            "'uploaderPrincipals[0]' Group:",
        ),
        ({"uploaderIpRanges": ["1.2.3.4/24"]}, "uploaderIpRanges", "host bits set: 1.2.3.0/24"),
        ({"uploaderIpRanges": ["10.1.2.3"]}, "uploaderIpRanges", "public IPv4"),
        ({"uploaderIpRanges": ["my-laptop"]}, "uploaderIpRanges", "not an IPv4 address"),
        ({"uploaderIpRanges": "203.0.113.7"}, "uploaderIpRanges", "not a list of strings"),
        ({"deployerIpRanges": ["203.0.113.7"]}, "deployerIpRanges", "renamed uploaderIpRanges"),
        (
            {"uploaderPrincipals": ["11111111-2222-3333-4444-555555555555"]},
            "uploaderPrincipals",
            "not <type>:<object id>",
        ),
        (
            {"uploaderPrincipals": ["Robot:11111111-2222-3333-4444-555555555555"]},
            "uploaderPrincipals",
            "User, Group, ServicePrincipal",
        ),
        ({"uploaderPrincipals": ["Group:robots"]}, "uploaderPrincipals", "object id"),
        ({"dataLakeSku": "Standard_GRS"}, "dataLakeSku", "Standard_LRS, Standard_ZRS"),
        ({"keyVaultRetentionDays": 3}, "keyVaultRetentionDays", "7 to 90"),
        ({"protectDataLake": "yes"}, "protectDataLake", "true or false"),
        ({"scheduleFrequency": "Fortnight"}, "scheduleFrequency", "Minute, Hour"),
        ({"scheduleFrequency": "Day"}, "scheduleStartTime", "ISO 8601"),
        # The regex alone let impossible dates through to ADF, mid-`pulumi up` (review of 11).
        (
            {"scheduleFrequency": "Day", "scheduleStartTime": "2026-02-30T02:00:00Z"},
            "scheduleStartTime",
            "not a date and time",
        ),
        ({"imageBuilder": "kaniko"}, "imageBuilder", "acr, docker"),
        ({"deployerPrincipalType": "Robot"}, "deployerPrincipalType", "User, ServicePrincipal"),
    ],
)
def test_bad_config_fails_before_any_resource(
    overrides: dict[str, Any], key: str, expected: str
) -> None:
    declared: list[RecordedResource] = []
    with pytest.raises(ConfigError) as raised:
        run_stack("dev", config_overrides=overrides, recorded=declared)
    message = str(raised.value)
    assert f"rosbag-batch:{key}" in message
    assert expected in message
    assert raised.value.key == key
    assert declared == []  # nothing reached the engine


def test_missing_location_names_the_key_and_the_fix() -> None:
    with pytest.raises(ConfigError, match=r"azure-native:location.*pulumi config set"):
        run_stack("dev", config_overrides={"azure-native:location": None})


def test_good_values_are_typed() -> None:
    config = StackConfig.from_values(
        "westeurope",
        {"uploaderIpRanges": '["203.0.113.7/32", "198.51.100.0/24"]', "protectDataLake": "true"},
    )
    assert config.uploader_ip_ranges == ("203.0.113.7/32", "198.51.100.0/24")
    assert config.protect_data_lake is True
    assert config.upload_sample_bag  # no longer tied to a firewall opening


def test_prod_schedule_is_read() -> None:
    values = {
        k.split(":", 1)[1]: v
        for k, v in load_stack_config("prod").items()
        if k.startswith("rosbag-batch:")
    }
    schedule = StackConfig.from_values("westeurope", values).schedule
    assert schedule is not None
    assert (schedule.frequency, schedule.interval) == ("Day", 1)


def test_an_unknown_stack_is_a_clear_error() -> None:
    with pytest.raises(OfflineError, match=r"no stack file Pulumi\.nope\.yaml"):
        load_stack_config("nope")


def test_a_stack_file_with_several_mistakes_gets_them_all_at_once(tmp_path: Path) -> None:
    # What `make preview` and `pulumi up` run: the program under the stack's config.
    shutil.copy(REPO_ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "Pulumi.broken.yaml").write_text(
        "config:\n"
        "  azure-native:location: westeurope\n"
        "  rosbag-batch:executionMaxNodes: 0\n"  # below 1
        "  rosbag-batch:keyVaultRetentionDays: 'many'\n"  # not an integer
        "  rosbag-batch:dataLakeSku: Premium_ZRS\n"  # no NFS
        "  rosbag-batch:vnetAddressSpace: 172.17.0.0/16\n"  # Docker's bridge
        "  rosbag-batch:subnetAddressPrefix: 172.17.0.0/22\n"  # fine: inside the vnet
        "  rosbag-batch:executonVmSize: Standard_D4s_v5\n",  # a typo
        encoding="utf-8",
    )

    with pytest.raises(ConfigErrors) as raised:
        run_stack("broken", project_dir=tmp_path)

    assert {error.key for error in raised.value.errors} == {
        "executionMaxNodes",
        "keyVaultRetentionDays",
        "dataLakeSku",
        "vnetAddressSpace",
        "executonVmSize",
    }
    text = str(raised.value)
    assert text.startswith("5 problems in the stack configuration:")
    assert "config rosbag-batch:executionMaxNodes: 0 is not allowed; expected at least 1" in text
    assert "config rosbag-batch:executonVmSize: is not a known key" in text


def test_events_without_a_schedule_warn_that_nothing_sweeps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pulumi

    warned: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *_a, **_k: warned.append(message))

    StackConfig.from_values("westeurope", {"eventTrigger": "true"})
    assert len(warned) == 1
    assert "NFS writes, renames and completed CopyBlobs raise no event" in warned[0]
    assert "scheduleFrequency" in warned[0]

    warned.clear()
    StackConfig.from_values(
        "westeurope",
        {
            "eventTrigger": "true",
            "scheduleFrequency": "Day",
            "scheduleStartTime": "2026-01-01T02:00:00Z",
        },
    )
    StackConfig.from_values("westeurope", {"eventTrigger": "false"})
    assert warned == []
