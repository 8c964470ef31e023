"""The stack's configuration: read once, typed, validated before any resource is declared.

Every key lives in the project namespace (`rosbag-batch:<key>`) and is declared with a type,
default and description in Pulumi.yaml; `tests/infra/test_config.py` keeps the two in step.
A bad value raises `ConfigError` naming the key, what was given and what is expected.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

import pulumi

from infra.pulumi_internals import project_config

T = TypeVar("T")

PROJECT = "rosbag-batch"

# Storage redundancy an NFS 3.0 account accepts at creation (GRS/GZRS/RA-GRS are refused).
NFS_SKUS = ("Standard_LRS", "Standard_ZRS")
SCHEDULE_FREQUENCIES = ("Minute", "Hour", "Day", "Week", "Month")
IMAGE_BUILDERS = ("acr", "docker")
# The kinds of principal a deployer can be; "" = work it out from the deployer's sign-in.
DEPLOYER_PRINCIPAL_TYPES = ("", "User", "ServicePrincipal")
# What an uploader can be: Azure refuses a role assignment whose principalType is wrong.
UPLOADER_PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal")
_OBJECT_ID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# Keys that were renamed: an old key gets a message naming the new one.
RENAMED_KEYS = {
    "deployerIpRanges": (
        "uploaderIpRanges",
        "the deployer no longer needs the data lake firewall (the sample bag is copied in by the "
        "Data Factory); the ranges are now for the people and robots that upload bags",
    ),
}
# Docker's default bridge: a VNet overlapping it breaks container networking on the nodes.
DOCKER_BRIDGE = ipaddress.ip_network("172.17.0.0/16")
# Ranges a storage account IP rule refuses (private, shared, loopback, link-local, multicast).
_NOT_IN_STORAGE_RULES = tuple(
    ipaddress.ip_network(r)
    for r in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "224.0.0.0/4",
        "0.0.0.0/8",
    )
)


class ConfigError(ValueError):
    """A stack configuration value is missing or invalid."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config {key if ':' in key else f'{PROJECT}:{key}'}: {problem}")
        self.key = key


class ConfigErrors(ConfigError):
    """Several problems, reported at once: one line each, naming the key, the problem, the fix."""

    def __init__(self, errors: Sequence[ConfigError]) -> None:
        lines = "\n".join(f"  - {error}" for error in errors)
        ValueError.__init__(self, f"{len(errors)} problems in the stack configuration:\n{lines}")
        self.key = errors[0].key
        self.errors = tuple(errors)


def raise_all(problems: Sequence[ConfigError]) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise ConfigErrors(problems)


def _problem_of(check: Callable[[str], object], text: str) -> Iterator[ConfigError]:
    try:
        check(text)
    except ConfigError as error:
        yield error


@dataclass(frozen=True)
class Schedule:
    frequency: str
    interval: int
    start_time: str


@dataclass(frozen=True)
class PoolSizing:
    vm_size: str
    max_nodes: int
    task_slots_per_node: int
    # The most Spot (low-priority) nodes autoscale may add; 0: dedicated nodes only.
    max_spot_nodes: int = 0


@dataclass(frozen=True)
class StackConfig:
    """Typed stack configuration. Defaults here equal the defaults in Pulumi.yaml."""

    location: str
    vnet_address_space: str = "10.40.0.0/16"
    subnet_address_prefix: str = "10.40.0.0/22"
    uploader_ip_ranges: tuple[str, ...] = ()
    uploader_principals: tuple[str, ...] = ()  # "<User|Group|ServicePrincipal>:<object id>"
    upload_sample_bag: bool = True
    data_lake_sku: str = "Standard_LRS"
    protect_data_lake: bool = False
    key_vault_purge_protection: bool = False
    key_vault_retention_days: int = 7
    log_retention_days: int = 30
    orchestrator_vm_size: str = "Standard_D2s_v5"
    orchestrator_max_nodes: int = 1
    orchestrator_task_slots_per_node: int = 4
    execution_vm_size: str = "Standard_D4s_v5"
    execution_max_nodes: int = 4
    execution_task_slots_per_node: int = 4
    # Spot nodes for the execution pool (infra/components/batch.py autoscale_formula): used
    # first, a preempted one replaced by a dedicated node; 0 (the default) uses none.
    execution_max_spot_nodes: int = 0
    image_builder: str = "acr"
    deployer_principal_type: str = ""
    schedule_frequency: str = ""
    schedule_interval: int = 1
    schedule_start_time: str = ""
    # Storage event triggers: each bag is extracted as it lands in raw/ (adf_event_trigger.py).
    event_trigger: bool = True
    # Move unreadable bags (processor exit 2) to raw/quarantine/; they are never retried until
    # they change either way (docs/orchestrator.md "Quarantine").
    quarantine_bags: bool = False
    # ADF managed virtual network + runtime + private endpoints to the lake (dfs, blob), for
    # downstream Copy/Data Flow on the firewalled lake (infra/components/adf_managed_vnet.py).
    managed_vnet: bool = False

    @property
    def orchestrator_pool(self) -> PoolSizing:
        return PoolSizing(
            self.orchestrator_vm_size,
            self.orchestrator_max_nodes,
            self.orchestrator_task_slots_per_node,
        )

    @property
    def execution_pool(self) -> PoolSizing:
        return PoolSizing(
            self.execution_vm_size,
            self.execution_max_nodes,
            self.execution_task_slots_per_node,
            self.execution_max_spot_nodes,
        )

    @property
    def schedule(self) -> Schedule | None:
        if not self.schedule_frequency:
            return None
        return Schedule(self.schedule_frequency, self.schedule_interval, self.schedule_start_time)

    @staticmethod
    def from_pulumi() -> StackConfig:
        """Read and validate the running stack's configuration."""
        location = pulumi.Config("azure-native").get("location")
        if not location:
            raise ConfigError(
                "azure-native:location",
                "is not set; expected an Azure region, e.g. "
                "`pulumi config set azure-native:location westeurope`",
            )
        # Every key, known or not: an unknown one is a typo to refuse, not a value to ignore.
        return StackConfig.from_values(location, project_config(PROJECT))

    @staticmethod
    def from_values(location: str, raw: Mapping[str, str]) -> StackConfig:
        """Build from raw config text (what the CLI passes): parse, then validate."""
        problems: list[ConfigError] = []
        for old in sorted(set(raw) & set(RENAMED_KEYS)):
            new, why = RENAMED_KEYS[old]
            problems.append(ConfigError(old, f"was renamed {new}: {why}. Set {new} instead"))
        problems.extend(
            ConfigError(key, _unknown_key(key))
            for key in sorted(set(raw) - set(CONFIG_KEYS) - set(RENAMED_KEYS))
        )
        values: dict[str, Any] = {"location": location}
        for key, text in raw.items():
            if key in CONFIG_KEYS:
                attribute, parse = CONFIG_KEYS[key]
                try:
                    values[attribute] = parse(key, text)
                except ConfigError as error:  # its default stands in, to check the rest
                    problems.append(error)
        config = StackConfig(**values)
        raise_all([*problems, *config.problems()])
        for warning in config.warnings():
            pulumi.log.warn(warning)
        return config

    def warnings(self) -> list[str]:
        """Valid but likely unintended settings (shown by `pulumi preview`, not refused)."""
        if self.event_trigger and not self.schedule_frequency:
            # docs/azure-behaviour.md "Storage events": NFS writes raise no event, an HNS rename
            # raises BlobRenamed, a CopyBlob raises BlobCreated when it starts.
            return [
                "eventTrigger is on and no schedule is set (scheduleFrequency): NFS writes, "
                "renames and completed CopyBlobs raise no event, so a bag arriving that way, or "
                "one that was still arriving when its event came, is never swept; set "
                "scheduleFrequency: Day and scheduleStartTime for a daily sweep "
                "(docs/operations.md)"
            ]
        return []

    def validate(self) -> None:
        """Raise every problem at once (ConfigErrors when more than one): a user fixing a stack
        file should not have to run `make preview` once per mistake."""
        raise_all(self.problems())

    def problems(self) -> list[ConfigError]:
        found: list[ConfigError] = []
        for check in (
            self._validate_network,
            self._validate_storage_and_retention,
            self._validate_pools,
            self._validate_choices,
            self._validate_schedule,
        ):
            try:
                for problem in check():
                    found.append(problem)
            except ConfigError as error:  # a value the rest of its group needs (a bad CIDR)
                found.append(error)
        return found

    def _validate_network(self) -> Iterator[ConfigError]:
        vnet = _network("vnetAddressSpace", self.vnet_address_space)
        subnet = _network("subnetAddressPrefix", self.subnet_address_prefix)
        if vnet.overlaps(DOCKER_BRIDGE):
            yield ConfigError(
                "vnetAddressSpace",
                f"{vnet} overlaps Docker's bridge network {DOCKER_BRIDGE}, which breaks "
                "container tasks; pick another private range such as 10.40.0.0/16",
            )
        if not (subnet.version == vnet.version and subnet.subnet_of(vnet)):  # type: ignore[arg-type]
            yield ConfigError(
                "subnetAddressPrefix",
                f"{subnet} is outside vnetAddressSpace {vnet}; expected a range inside it, "
                f"e.g. {next(vnet.subnets(new_prefix=max(vnet.prefixlen, 24)))}",
            )
        if subnet.prefixlen > 28:
            yield ConfigError(
                "subnetAddressPrefix",
                f"{subnet} is too small; expected /28 or larger (one address per node, plus 5 "
                "Azure keeps)",
            )
        capacity = subnet.num_addresses - 5
        nodes = (
            self.orchestrator_max_nodes + self.execution_max_nodes + self.execution_max_spot_nodes
        )
        if nodes > capacity:
            yield ConfigError(
                "subnetAddressPrefix",
                f"{subnet} has {capacity} usable addresses but the pools may grow to {nodes} "
                "nodes; expected a larger subnet or smaller orchestratorMaxNodes/executionMaxNodes"
                "/executionMaxSpotNodes",
            )
        for text in self.uploader_ip_ranges:
            yield from _problem_of(storage_ip_rule, text)
        for text in self.uploader_principals:
            yield from _problem_of(uploader_principal, text)

    def _validate_storage_and_retention(self) -> Iterator[ConfigError]:
        if self.data_lake_sku not in NFS_SKUS:
            yield ConfigError(
                "dataLakeSku",
                f"{self.data_lake_sku!r} is not accepted for an NFS 3.0 account; expected one "
                f"of {', '.join(NFS_SKUS)}",
            )
        if not 7 <= self.key_vault_retention_days <= 90:
            yield ConfigError(
                "keyVaultRetentionDays",
                f"{self.key_vault_retention_days} is out of range; expected 7 to 90 days",
            )
        if not 30 <= self.log_retention_days <= 730:
            yield ConfigError(
                "logRetentionDays",
                f"{self.log_retention_days} is out of range; expected 30 to 730 days",
            )

    def _validate_pools(self) -> Iterator[ConfigError]:
        for key, value in (
            ("orchestratorMaxNodes", self.orchestrator_max_nodes),
            ("executionMaxNodes", self.execution_max_nodes),
        ):
            if value < 1:
                yield ConfigError(
                    key, f"{value} is not allowed; expected at least 1 (pools scale to 0 when idle)"
                )
        if self.execution_max_spot_nodes < 0:
            yield ConfigError(
                "executionMaxSpotNodes",
                f"{self.execution_max_spot_nodes} is not allowed; expected 0 (no Spot nodes) or "
                "more",
            )
        for key, value in (
            ("orchestratorTaskSlotsPerNode", self.orchestrator_task_slots_per_node),
            ("executionTaskSlotsPerNode", self.execution_task_slots_per_node),
        ):
            if not 1 <= value <= 256:
                yield ConfigError(key, f"{value} is out of range; expected 1 to 256")
        for key, value in (
            ("orchestratorVmSize", self.orchestrator_vm_size),
            ("executionVmSize", self.execution_vm_size),
        ):
            if not re.fullmatch(r"(?i)standard_[a-z0-9_]+", value):
                yield ConfigError(key, f"{value!r} is not a VM size; expected e.g. Standard_D4s_v5")

    def _validate_choices(self) -> Iterator[ConfigError]:
        if self.image_builder not in IMAGE_BUILDERS:
            yield ConfigError(
                "imageBuilder",
                f"{self.image_builder!r} is not a builder; expected one of "
                + ", ".join(IMAGE_BUILDERS),
            )
        if self.deployer_principal_type not in DEPLOYER_PRINCIPAL_TYPES:
            yield ConfigError(
                "deployerPrincipalType",
                f"{self.deployer_principal_type!r} is not a principal type; expected User, "
                "ServicePrincipal, or empty to detect it from the sign-in",
            )

    def _validate_schedule(self) -> Iterator[ConfigError]:
        if not self.schedule_frequency:
            if self.schedule_start_time:
                yield ConfigError(
                    "scheduleFrequency",
                    "is empty but scheduleStartTime is set; expected one of "
                    f"{', '.join(SCHEDULE_FREQUENCIES)} to enable the schedule trigger",
                )
            return
        if self.schedule_frequency not in SCHEDULE_FREQUENCIES:
            yield ConfigError(
                "scheduleFrequency",
                f"{self.schedule_frequency!r} is not a frequency; expected one of "
                f"{', '.join(SCHEDULE_FREQUENCIES)}",
            )
        if self.schedule_interval < 1:
            yield ConfigError(
                "scheduleInterval", f"{self.schedule_interval} is not allowed; expected >= 1"
            )
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?Z", self.schedule_start_time):
            yield ConfigError(
                "scheduleStartTime",
                f"{self.schedule_start_time!r} is not a UTC time; expected ISO 8601 like "
                "2026-01-01T02:00:00Z (required when scheduleFrequency is set)",
            )
        elif not _is_calendar_time(self.schedule_start_time):
            yield ConfigError(
                "scheduleStartTime",
                f"{self.schedule_start_time!r} is not a date and time (no such day or hour); "
                "expected ISO 8601 like 2026-01-01T02:00:00Z",
            )


# --------------------------------------------------------------------------------------------
# Parsing raw config text
# --------------------------------------------------------------------------------------------


def _text(key: str, text: str) -> str:
    return text.strip()


def _integer(key: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(key, f"{text!r} is not an integer; expected a whole number") from None


def _boolean(key: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ConfigError(key, f"{text!r} is not a boolean; expected true or false")
    return lowered == "true"


def _is_calendar_time(text: str) -> bool:
    """`2026-02-30T02:00Z` has the shape but no such day: ADF would refuse it mid-deploy."""
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _unknown_key(key: str) -> str:
    """The closest known key when there is one (case first: `executionVmsize`), else them all."""
    by_case = {known.lower(): known for known in CONFIG_KEYS}
    close = by_case.get(key.lower()) or next(
        iter(difflib.get_close_matches(key, list(CONFIG_KEYS), n=1, cutoff=0.8)), None
    )
    if close:
        return f"is not a known key; did you mean {close}? (`pulumi config rm {key}`)"
    return f"is not a known key (a typo?); known keys: {', '.join(sorted(CONFIG_KEYS))}"


# What a list key's entries look like, for the example in its error.
_LIST_EXAMPLES = {"uploaderPrincipals": "Group:<object id>", "uploaderIpRanges": "203.0.113.7"}


def _string_list(key: str, text: str) -> tuple[str, ...]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(
            key,
            f"{text!r} is not a list of strings; expected e.g. "
            f"`pulumi config set --path '{key}[0]' {_LIST_EXAMPLES.get(key, '<value>')}`",
        )
    return tuple(value)


def uploader_principal(text: str) -> tuple[str, str]:
    """An uploader entry as (principal type, object id): `Group:<object id>` and the like."""
    kind, _, object_id = text.strip().partition(":")
    if kind not in UPLOADER_PRINCIPAL_TYPES or not _OBJECT_ID.fullmatch(object_id):
        raise ConfigError(
            "uploaderPrincipals",
            f"{text!r} is not <type>:<object id>; expected e.g. Group:<object id>, with type one "
            f"of {', '.join(UPLOADER_PRINCIPAL_TYPES)} (Azure refuses a role assignment whose "
            "type does not match; find the id with `az ad group show -g <name> --query id`)",
        )
    return kind, object_id.lower()


def storage_ip_rule(text: str) -> str:
    """An uploader range as a storage firewall accepts it: public IPv4, a bare address or /0-/30."""
    try:
        network = ipaddress.ip_network(text if "/" in text else f"{text}/32", strict=True)
    except ValueError:
        loose = _loose_network(text)
        if loose is not None:
            raise ConfigError(
                "uploaderIpRanges",
                f"{text!r} has host bits set: {loose} is the range it falls in; set that, or the "
                "address alone",
            ) from None
        raise ConfigError(
            "uploaderIpRanges",
            f"{text!r} is not an IPv4 address or CIDR range; expected e.g. 203.0.113.7 or "
            "203.0.113.0/24",
        ) from None
    reserved = network.version != 4 or any(
        network.overlaps(r) for r in _NOT_IN_STORAGE_RULES if r.version == network.version
    )
    if reserved or network.prefixlen == 31:
        raise ConfigError(
            "uploaderIpRanges",
            f"{text!r} is not usable in a storage firewall rule; expected public IPv4 addresses "
            "or CIDR ranges up to /30, e.g. 203.0.113.7 (find yours: curl -s https://api.ipify.org)",
        )
    return str(network.network_address) if network.prefixlen == 32 else str(network)


def _loose_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _network(key: str, text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        raise ConfigError(
            key, f"{text!r} is not a valid CIDR range ({exc}); expected e.g. 10.40.0.0/16"
        ) from None


def _parser(default: object) -> Callable[[str, str], Any]:
    if isinstance(default, bool):
        return _boolean
    if isinstance(default, int):
        return _integer
    if isinstance(default, tuple):
        return _string_list
    return _text


def _camel(attribute: str) -> str:
    head, *rest = attribute.split("_")
    return head + "".join(word.capitalize() for word in rest)


# Config key (camelCase, as in Pulumi.yaml) -> (StackConfig attribute, parser), derived from the
# dataclass so a new field is a new key with nothing else to keep in step.
CONFIG_KEYS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    _camel(f.name): (f.name, _parser(f.default))
    for f in fields(StackConfig)
    if f.name != "location"
}
