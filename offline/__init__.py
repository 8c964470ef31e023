"""The real Pulumi program, run offline: no Azure, no Pulumi CLI, no network.

`run_stack("dev")` loads the stack files as the CLI would, answers every registration with
`OfflineMocks` and returns a `Recording` of what the program declared. The infra and dynamic
tests assert on recordings, and `make preview` (`python -m offline.preview`) prints one.

- stack_files.py  Pulumi.yaml + Pulumi.<stack>.yaml into the config map the CLI would pass
- mocks.py        what Azure would answer: ARM ids, names, endpoints, identities (OfflineMocks)
- stand_ins.py    what our dynamic providers would return (they never run under mocks)
- recording.py    what the engine was told: resources, inputs, options, outputs
- engine.py       running the program (and single components) under the mocks
- preview.py      the offline preview: the resource tree, cost drivers, outputs

Nothing under infra/ imports this package: infra/ holds only what `pulumi up` runs.
"""

from offline.engine import run_stack, use_mocks
from offline.errors import OfflineError
from offline.mocks import (
    MOCK_DEPLOYER_CLIENT_ID,
    MOCK_DEPLOYER_OBJECT_ID,
    MOCK_SUBSCRIPTION_ID,
    MOCK_TENANT_ID,
    OfflineMocks,
)
from offline.recording import ObservedOptions, RecordedResource, Recording, StackOutput
from offline.stack_files import REPO_ROOT, load_stack_config, project_name, stack_names

__all__ = [
    "MOCK_DEPLOYER_CLIENT_ID",
    "MOCK_DEPLOYER_OBJECT_ID",
    "MOCK_SUBSCRIPTION_ID",
    "MOCK_TENANT_ID",
    "REPO_ROOT",
    "ObservedOptions",
    "OfflineError",
    "OfflineMocks",
    "RecordedResource",
    "Recording",
    "StackOutput",
    "load_stack_config",
    "project_name",
    "run_stack",
    "stack_names",
    "use_mocks",
]
