"""Offline preview: run the real program under mocks for a stack and print what it declares.

    python -m offline.preview --stack dev          # the resource tree, key properties, outputs
    python -m offline.preview --stack prod --json  # everything, machine-readable

No Azure, no Pulumi CLI, no network: values Azure computes are stand-ins (offline/mocks.py,
offline/stand_ins.py). Secrets are shown as [secret].
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from infra.config import ConfigError
from offline import OfflineError, RecordedResource, Recording, run_stack, stack_names

SECRET = "[secret]"

# What a reader wants to see per resource type (dotted input paths); everything is in --json.
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "azure-native:resources:ResourceGroup": ("resourceGroupName", "location"),
    "azure-native:network:VirtualNetwork": ("addressSpace.addressPrefixes",),
    "azure-native:network:Subnet": (
        "addressPrefix",
        "defaultOutboundAccess",
        "serviceEndpoints",
    ),
    "azure-native:network:NetworkSecurityGroup": ("securityRules",),
    "azure-native:network:NatGateway": ("sku.name",),
    "azure-native:network:PublicIPAddress": ("sku.name", "publicIPAllocationMethod"),
    "azure-native:storage:StorageAccount": (
        "accountName",
        "sku.name",
        "isHnsEnabled",
        "enableNfsV3",
        "allowSharedKeyAccess",
        "networkRuleSet.defaultAction",
        "networkRuleSet.bypass",
        "networkRuleSet.ipRules",
    ),
    "azure-native:storage:BlobContainer": ("containerName",),
    "azure-native:storage:Blob": ("blobName",),
    "azure-native:managedidentity:UserAssignedIdentity": (),
    "azure-native:authorization:RoleAssignment": ("description", "scope", "principalType"),
    "azure-native:keyvault:Vault": (
        "vaultName",
        "properties.enableRbacAuthorization",
        "properties.enablePurgeProtection",
        "properties.softDeleteRetentionInDays",
    ),
    "azure-native:keyvault:Secret": ("secretName",),
    "azure-native:operationalinsights:Workspace": ("retentionInDays",),
    "azure-native:applicationinsights:Component": ("kind", "ingestionMode"),
    "azure-native:containerregistry:Registry": ("registryName", "sku.name", "adminUserEnabled"),
    "azure-native:batch:BatchAccount": (
        "accountName",
        "allowedAuthenticationModes",
        "autoStorage.authenticationMode",
    ),
    "azure-native:batch:Pool": (
        "poolName",
        "vmSize",
        "taskSlotsPerNode",
        "deploymentConfiguration.virtualMachineConfiguration.imageReference",
        "deploymentConfiguration.virtualMachineConfiguration.containerConfiguration.containerImageNames",
        "networkConfiguration.publicIPAddressConfiguration.provision",
        "targetNodeCommunicationMode",
        "mountConfiguration",
        "applicationPackages",
    ),
    "azure-native:datafactory:Pipeline": ("pipelineName",),
    "azure-native:datafactory:LinkedService": ("properties.type",),
    "azure-native:datafactory:Trigger": ("triggerName", "properties.type"),
    "pulumi-python:dynamic/rosbag:TriggerState": ("trigger_name", "enabled"),
}

POOL = "azure-native:batch:Pool"
TRIGGER = "azure-native:datafactory:Trigger"
TRIGGER_STATE = "pulumi-python:dynamic/rosbag:TriggerState"
# `$TargetDedicatedNodes = max(LOW, min(HIGH, ...))`: the bounds of an autoscale formula in Batch's
# formula language (learn.microsoft.com/azure/batch/batch-automatic-scaling).
_DEDICATED_BOUNDS = re.compile(
    r"\$TargetDedicatedNodes\s*=\s*max\(\s*(\d+)\s*,\s*min\(\s*(\d+)\s*,", re.IGNORECASE
)
_DEDICATED_LINE = re.compile(r"\$TargetDedicatedNodes\s*=[^;\n]*", re.IGNORECASE)
# `$spot = max(LOW, min(HIGH, $wanted))`: the Spot share of infra/components/batch.py's formula.
_SPOT_BOUNDS = re.compile(r"\$spot\s*=\s*max\(\s*(\d+)\s*,\s*min\(\s*(\d+)\s*,", re.IGNORECASE)


def scale_text(pool_inputs: Mapping[str, Any]) -> str | None:
    """How many nodes a pool may run, the first thing its cost depends on."""
    fixed = lookup(pool_inputs, "scaleSettings.fixedScale")
    if isinstance(fixed, Mapping):
        return f"{fixed.get('targetDedicatedNodes', 0)} dedicated nodes (fixed)"
    formula = lookup(pool_inputs, "scaleSettings.autoScale.formula")
    if not isinstance(formula, str):
        return None
    every = lookup(pool_inputs, "scaleSettings.autoScale.evaluationInterval") or "PT15M"
    bounds = _DEDICATED_BOUNDS.search(formula)
    spot = _SPOT_BOUNDS.search(formula)
    also = f" + {spot[1]}..{spot[2]} Spot nodes" if spot else ""
    if bounds:
        return f"{bounds[1]}..{bounds[2]} dedicated nodes{also}, every {every}"
    line = _DEDICATED_LINE.search(formula)  # a formula of another shape: show its own words
    return f"{line[0] if line else 'see the formula in --json'}, every {every}"


def schedule_text(trigger_inputs: Mapping[str, Any]) -> str | None:
    recurrence = lookup(trigger_inputs, "properties.recurrence")
    if not isinstance(recurrence, Mapping):
        return None
    return (
        f"every {recurrence.get('interval', 1)} x {recurrence.get('frequency')} "
        f"from {recurrence.get('startTime', 'now')} ({recurrence.get('timeZone', 'UTC')})"
    )


def derived_properties(resource: RecordedResource) -> dict[str, str]:
    """Facts read from several inputs at once, shown under the resource like its properties."""
    if resource.type == POOL:
        scale = scale_text(resource.inputs)
        label = "scale" if lookup(resource.inputs, "scaleSettings.fixedScale") else "autoscale"
        return {label: scale} if scale else {}
    if resource.type == TRIGGER:
        schedule = schedule_text(resource.inputs)
        return {"schedule": schedule} if schedule else {}
    return {}


def cost_lines(recording: Recording) -> list[str]:
    """What an idle or busy stack can cost: each pool's VM size and node range, the schedule."""
    lines = ["cost drivers:"]
    for pool in sorted(recording.of_type(POOL), key=lambda r: str(r.inputs.get("poolName"))):
        scale = scale_text(pool.inputs) or "scale settings not set"
        nodes, _, every = scale.partition(", every ")
        how = f" (autoscale every {every})" if every else ""
        lines.append(
            f"  pool {pool.inputs.get('poolName')}: {pool.inputs.get('vmSize')} x {nodes}{how}"
        )
    started = {
        r.inputs.get("trigger_name"): bool(r.inputs.get("enabled"))
        for r in recording.of_type(TRIGGER_STATE)
    }
    triggers = recording.of_type(TRIGGER)
    events = [t for t in triggers if lookup(t.inputs, "properties.type") == "BlobEventsTrigger"]
    schedules = [(t, schedule_text(t.inputs)) for t in triggers if t not in events]
    for trigger, schedule in schedules:
        state = "started at deploy" if started.get(trigger.inputs.get("triggerName")) else "stopped"
        lines.append(f"  schedule: {schedule or 'not a schedule trigger'}, {state}")
    if not schedules:
        lines.append("  schedule: none (runs start only when someone starts them)")
    if events:
        # Each run costs an orchestrator activity; nodes start only for bags not done yet.
        lines.append(f"  storage events: {len(events)} triggers, one run per bag uploaded to raw/")
    return lines


def lookup(values: Mapping[str, Any], path: str) -> Any:
    current: Any = values
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def shown_inputs(resource: RecordedResource) -> dict[str, Any]:
    return {k: (SECRET if k in resource.secret_inputs else v) for k, v in resource.inputs.items()}


def key_properties(resource: RecordedResource) -> dict[str, Any]:
    inputs = shown_inputs(resource)
    found = {p: lookup(inputs, p) for p in KEY_PROPERTIES.get(resource.type, ())}
    shown = {path: value for path, value in found.items() if value not in (None, [], {})}
    return {**shown, **derived_properties(resource)}


def options_summary(resource: RecordedResource) -> list[str]:
    o = resource.options
    flags = []
    if o.protect:
        flags.append("protect")
    if o.replace_on_changes:
        flags.append("replaceOnChanges=" + ",".join(o.replace_on_changes))
    if o.delete_before_replace:
        flags.append("deleteBeforeReplace")
    return flags


def render_tree(recording: Recording) -> str:
    lines = [f"stack {recording.project}/{recording.stack}: {len(recording.resources)} resources"]
    lines += cost_lines(recording)
    lines.append("resources:")
    stack_urn = recording.stack_urn

    def walk(parent: str, indent: str) -> None:
        # Registration order depends on the event loop: sort for a stable, diffable tree.
        children = sorted(recording.children(parent), key=lambda r: (not r.custom, r.name))
        for index, resource in enumerate(children):
            last = index == len(children) - 1
            branch, below = ("└─ ", "   ") if last else ("├─ ", "│  ")
            flags = options_summary(resource)
            lines.append(
                f"{indent}{branch}{resource.type}  {resource.name}"
                + (f"  [{'; '.join(flags)}]" if flags else "")
            )
            for path, value in key_properties(resource).items():
                text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                if len(text) > 160:
                    text = text[:157] + "..."
                lines.append(f"{indent}{below}    {path} = {text}")
            walk(resource.urn, indent + below)

    walk(stack_urn, "")
    lines.append("outputs:")
    for name, output in recording.outputs.items():
        lines.append(f"  {name} = {SECRET if output.secret else output.value}")
    return "\n".join(lines)


def as_json(recording: Recording) -> dict[str, Any]:
    return {
        "project": recording.project,
        "stack": recording.stack,
        "resources": [
            {
                "type": r.type,
                "name": r.name,
                "urn": r.urn,
                "parent": r.parent_urn,
                "inputs": shown_inputs(r),
                "options": {
                    "protect": r.options.protect,
                    "replaceOnChanges": list(r.options.replace_on_changes),
                    "deleteBeforeReplace": r.options.delete_before_replace,
                    "dependsOn": list(r.options.depends_on),
                },
            }
            for r in sorted(recording.resources, key=lambda r: r.urn)
        ],
        "outputs": {
            name: SECRET if output.secret else output.value
            for name, output in recording.outputs.items()
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m offline.preview",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keep the example lines apart
    )
    parser.add_argument("--stack", default="dev", help="stack name (Pulumi.<stack>.yaml)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a tree")
    args = parser.parse_args(argv)

    started = time.monotonic()
    try:
        recording = run_stack(args.stack)
    except (ConfigError, OfflineError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"(stacks: {', '.join(stack_names())})", file=sys.stderr)
        return 2
    if args.json:
        json.dump(as_json(recording), sys.stdout, indent=2, sort_keys=True, default=str)
        print()
    else:
        print(render_tree(recording))
        print(
            f"(offline preview in {time.monotonic() - started:.1f} s; Azure-computed values "
            "are stand-ins)"
        )
    return 0


if __name__ == "__main__":
    # A one-shot process, so two costs that buy it nothing go. The cyclic garbage collector: the
    # SDK's generated modules and the program create millions of objects that live to the end,
    # and the collector's repeated passes over them took ~0.7 s of a ~3 s run while freeing
    # nothing (peak RSS is the same ~160 MB without it). And the interpreter's teardown of those
    # modules (~0.5 s): the output is flushed, then the process ends at once.
    gc.disable()
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`: the reader stopped reading; say nothing more
        status = 128 + 13  # what a shell reports for a process ended by SIGPIPE
    sys.stderr.flush()
    os._exit(status)
