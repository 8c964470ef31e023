"""The pipeline's schedule: the trigger, and the state that starts it (ADF creates triggers
Stopped) and stops it before changes and destroy (infra/dynamic/trigger_state.py).

The schedule comes from the stack configuration, typed and validated there
(`infra.config.StackConfig`, keys scheduleFrequency/Interval/StartTime): a UTC start time
ending in Z, which is how ADF reads `startTime` with `timeZone` UTC.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import datafactory as adf

from infra.components.adf_pipeline import PIPELINE_NAME, default_parameters
from infra.config import Schedule
from infra.dynamic.trigger_state import TriggerState, TriggerStateArgs

if TYPE_CHECKING:
    from infra.components.data_factory import DataFactoryArgs

TRIGGER_NAME = "extract-bags-schedule"
TIME_ZONE = "UTC"  # a Windows time zone id, as ADF expects
STATE_NAME = "schedule-state"


def declare_schedule(
    name: str,
    args: DataFactoryArgs,
    schedule: Schedule,
    factory_name: pulumi.Output[str],
    pipeline_name: pulumi.Input[str],
    parent: pulumi.Resource,
    former_parent: pulumi.Resource | None,
) -> adf.Trigger:
    trigger = adf.Trigger(
        f"{name}-schedule",
        resource_group_name=args.resource_group_name,
        factory_name=factory_name,
        trigger_name=TRIGGER_NAME,
        properties=_schedule_trigger(args, schedule, pipeline_name),
        # ADF refuses to update (or delete) a started trigger. Replacing it on any change,
        # deleting first, makes Pulumi delete the TriggerState resource that depends on it
        # first too, which stops it. Deleting first is also what a pinned name needs.
        opts=pulumi.ResourceOptions(
            parent=parent, replace_on_changes=["*"], delete_before_replace=True
        ),
    )
    TriggerState(
        STATE_NAME,
        TriggerStateArgs(
            subscription_id=args.subscription_id,
            resource_group_name=args.resource_group_name,
            factory_name=factory_name,
            trigger_name=trigger.name,
            enabled=True,
            revision=f"{schedule.frequency}/{schedule.interval}/{schedule.start_time}",
        ),
        # It was declared at the stack's root (08a325b), then under the Orchestration layer
        # (`former_parent`, until the Data Factory split): the aliases keep a deployed stack's
        # state resource, whose delete would stop the trigger (tests/infra/
        # test_state_continuity.py holds both).
        pulumi.ResourceOptions(
            parent=parent,
            aliases=[
                pulumi.Alias(parent=pulumi.ROOT_STACK_RESOURCE),
                *([pulumi.Alias(parent=former_parent)] if former_parent is not None else []),
            ],
        ),
    )
    return trigger


def _schedule_trigger(
    args: DataFactoryArgs, schedule: Schedule, pipeline_name: pulumi.Input[str]
) -> adf.ScheduleTriggerArgs:
    return adf.ScheduleTriggerArgs(
        type="ScheduleTrigger",
        description=(
            f"Runs {PIPELINE_NAME} every {schedule.interval} x {schedule.frequency}, "
            f"from {schedule.start_time} ({TIME_ZONE})."
        ),
        recurrence=adf.ScheduleTriggerRecurrenceArgs(
            frequency=schedule.frequency,
            interval=schedule.interval,
            start_time=schedule.start_time,
            time_zone=TIME_ZONE,
        ),
        pipelines=[
            adf.TriggerPipelineReferenceArgs(
                pipeline_reference=adf.PipelineReferenceArgs(
                    reference_name=pipeline_name,
                    type=adf.PipelineReferenceType.PIPELINE_REFERENCE,
                ),
                # Scheduled runs take the pipeline's defaults.
                parameters=default_parameters(args),
            )
        ],
    )
