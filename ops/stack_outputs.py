"""The stack outputs `ops` works from (docs/contracts.md §4), read from `pulumi stack output
--json`, a file, standard input, or the STACK_OUTPUTS environment variable in CI."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

STACK_OUTPUTS_ENV = "STACK_OUTPUTS"

HOW_TO_GET_OUTPUTS = (
    "pass --stack-outputs FILE (made by `pulumi stack output --json > FILE`), "
    f"--stack-outputs - to read it from standard input, or set {STACK_OUTPUTS_ENV} to that JSON"
)


class StackOutputsError(ValueError):
    """The stack outputs are missing, unreadable, or lack a key this command needs."""


@dataclass(frozen=True)
class StackOutputs:
    """The subset of stack outputs a pipeline run needs (names fixed by docs/contracts.md §4)."""

    subscription_id: str
    location: str
    resource_group_name: str
    data_factory_name: str
    pipeline_name: str
    batch_account_name: str
    batch_account_endpoint: str
    data_lake_account_name: str
    data_lake_container: str
    raw_path: str
    extracted_path: str

    @classmethod
    def from_mapping(cls, outputs: dict[str, Any], source: str) -> StackOutputs:
        keys = {
            "subscription_id": "subscriptionId",
            "location": "location",
            "resource_group_name": "resourceGroupName",
            "data_factory_name": "dataFactoryName",
            "pipeline_name": "pipelineName",
            "batch_account_name": "batchAccountName",
            "batch_account_endpoint": "batchAccountEndpoint",
            "data_lake_account_name": "dataLakeAccountName",
            "data_lake_container": "dataLakeContainer",
            "raw_path": "rawPath",
            "extracted_path": "extractedPath",
        }
        missing = [key for key in keys.values() if not isinstance(outputs.get(key), str)]
        if missing:
            raise StackOutputsError(
                f"the stack outputs from {source} lack {', '.join(missing)}: are they the outputs "
                "of this project's stack, after a successful `pulumi up`?"
            )
        return cls(**{field: outputs[key] for field, key in keys.items()})


def load_stack_outputs(
    location: str | None,
    *,
    stdin: TextIO | None = None,
    environ: dict[str, str] | None = None,
) -> StackOutputs:
    """Read the outputs from a file path, "-" (standard input) or, when no location is given,
    the STACK_OUTPUTS environment variable."""
    env = os.environ if environ is None else environ
    if location == "-":
        text, source = (stdin or sys.stdin).read(), "standard input"
    elif location is not None:
        path = Path(location)
        try:
            text, source = path.read_text(encoding="utf-8"), str(path)
        except OSError as error:
            raise StackOutputsError(
                f"cannot read the stack outputs file {path}: {error.strerror}"
            ) from error
    elif env.get(STACK_OUTPUTS_ENV, "").strip():
        text, source = env[STACK_OUTPUTS_ENV], f"${STACK_OUTPUTS_ENV}"
    else:
        raise StackOutputsError(f"no stack outputs given: {HOW_TO_GET_OUTPUTS}")
    if not text.strip():
        # What `pulumi stack output --json > FILE` leaves when pulumi is missing or failed.
        raise StackOutputsError(
            f"the stack outputs: {source} is empty: check that `pulumi stack output --json` "
            "succeeded (pulumi installed and logged in, the stack selected); "
            f"{HOW_TO_GET_OUTPUTS}"
        )
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise StackOutputsError(
            f"the stack outputs from {source} are not JSON ({error.msg} at line {error.lineno}): "
            f"{HOW_TO_GET_OUTPUTS}"
        ) from error
    if not isinstance(outputs, dict):
        raise StackOutputsError(
            f"the stack outputs from {source} are not a JSON object: {HOW_TO_GET_OUTPUTS}"
        )
    return StackOutputs.from_mapping(outputs, source)
