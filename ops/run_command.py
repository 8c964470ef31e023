"""`ops run`: build the clients, start the run, follow it, print the summary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TextIO

from azure.batch import BatchClient
from azure.core.credentials import TokenCredential
from azure.core.exceptions import AzureError
from azure.identity import DefaultAzureCredential
from azure.mgmt.datafactory import DataFactoryManagementClient

from ops.azure_errors import CredentialSetupError
from ops.cloud import cloud_endpoints
from ops.pipeline import FollowOptions, PipelineRunner
from ops.progress import ProgressPrinter
from ops.run_state import Parameters, Verdict
from ops.stack_outputs import StackOutputs
from ops.summary import extracted_bags, render_summary, summary_json


@dataclass(frozen=True)
class RunRequest:
    parameters: Parameters
    timeout_seconds: float
    poll_seconds: float
    cancel_on_timeout: bool
    as_json: bool
    arm_endpoint: str | None
    min_bags: int = 0


def run_pipeline(
    outputs: StackOutputs,
    request: RunRequest,
    credential: TokenCredential | None,
    stdout: TextIO,
    stderr: TextIO,
) -> bool:
    """True when the pipeline run succeeded."""
    cloud = cloud_endpoints(request.arm_endpoint)
    credential = credential or _default_credential()
    factory = DataFactoryManagementClient(
        credential,
        outputs.subscription_id,
        base_url=cloud.resource_manager,
        credential_scopes=[cloud.resource_manager_scope],
    )
    batch = BatchClient(
        outputs.batch_account_endpoint, credential, credential_scopes=[cloud.batch_scope]
    )
    progress = ProgressPrinter(stderr)
    with factory, batch:
        runner = PipelineRunner(outputs, factory, batch, progress)
        run_id = runner.start(request.parameters)
        progress.note(
            f"Started {outputs.pipeline_name} run {run_id} in {outputs.data_factory_name} "
            f"({' '.join(f'{k}={v}' for k, v in sorted(request.parameters.items()))})"
        )
        try:
            result = runner.follow(
                run_id,
                request.parameters,
                FollowOptions(
                    timeout_seconds=request.timeout_seconds,
                    poll_seconds=request.poll_seconds,
                    cancel_on_timeout=request.cancel_on_timeout,
                ),
            )
        except KeyboardInterrupt:
            progress.note(f"Interrupted: {_goes_on(outputs, run_id)}")
            raise
        except AzureError:
            progress.note(f"Stopped following: {_goes_on(outputs, run_id)}")
            raise
    if result.ok and request.min_bags:
        extracted = extracted_bags(result.custom_output)
        if extracted < request.min_bags:
            result.verdict = Verdict.FAILED
            result.message = (
                f"expected at least {request.min_bags} bag(s) extracted, the orchestrator "
                f"reported {extracted}: is there a bag under {request.parameters['inputPath']}?"
            )
    render = summary_json if request.as_json else render_summary
    print(render(result, outputs, cloud), file=stdout, flush=True)
    return result.ok


def _goes_on(outputs: StackOutputs, run_id: str) -> str:
    return (
        f"pipeline run {run_id} goes on. Cancel it with `az datafactory pipeline-run cancel "
        f"--factory-name {outputs.data_factory_name} --resource-group "
        f"{outputs.resource_group_name} --run-id {run_id}`."
    )


def _default_credential() -> TokenCredential:
    try:
        return DefaultAzureCredential()
    except ValueError as error:  # e.g. an AZURE_TOKEN_CREDENTIALS value it does not know
        raise CredentialSetupError(str(error)) from error
