"""Stack configuration, loaded as the Pulumi CLI would load it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from offline.errors import OfflineError

REPO_ROOT = Path(__file__).resolve().parent.parent


def project_name(project_dir: Path = REPO_ROOT) -> str:
    project = _read_yaml(project_dir / "Pulumi.yaml")
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise OfflineError(f"{project_dir / 'Pulumi.yaml'}: `name` is missing")
    return name


def stack_names(project_dir: Path = REPO_ROOT) -> list[str]:
    """Every stack that has a `Pulumi.<stack>.yaml` beside `Pulumi.yaml`, sorted."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in project_dir.glob("Pulumi.*.yaml"))


def load_stack_config(stack: str, project_dir: Path = REPO_ROOT) -> dict[str, str]:
    """The flat `namespace:key -> value` map the CLI would give the program for `stack`.

    Project keys may be written bare or as `<project>:key` in the stack file; defaults from the
    `config:` schema in Pulumi.yaml fill keys the stack leaves out. Structured values (arrays,
    objects) are JSON text, as the CLI passes them, so `Config.get_object` reads them back.
    """
    project = project_name(project_dir)
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    if not stack_file.is_file():
        known = ", ".join(stack_names(project_dir)) or "none"
        raise OfflineError(f"no stack file {stack_file.name} (stacks here: {known})")

    schema = _read_yaml(project_dir / "Pulumi.yaml").get("config") or {}
    values: dict[str, Any] = {}
    for key, spec in schema.items():
        if isinstance(spec, Mapping) and "default" in spec:
            values[namespaced(project, key)] = spec["default"]

    for key, value in (_read_yaml(stack_file).get("config") or {}).items():
        if isinstance(value, Mapping) and "secure" in value:
            raise OfflineError(
                f"{stack_file.name}: `{key}` is an encrypted secret; offline runs can't decrypt "
                "it. Keep secrets out of stack files used offline (this project needs none)."
            )
        values[namespaced(project, key)] = value

    return {key: config_text(value) for key, value in values.items()}


def with_overrides(
    config: Mapping[str, str], project: str, overrides: Mapping[str, Any]
) -> dict[str, str]:
    """`config` with `overrides` applied (bare project keys or `namespace:key`; None removes)."""
    result = dict(config)
    for key, value in overrides.items():
        if value is None:
            result.pop(namespaced(project, key), None)
        else:
            result[namespaced(project, key)] = config_text(value)
    return result


def namespaced(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def config_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    # bools and numbers become JSON text too (`true`, `3`), which is what Config.get_bool/int parse.
    return json.dumps(value)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OfflineError(f"{path} is missing") from None
    except yaml.YAMLError as exc:
        raise OfflineError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise OfflineError(f"{path} must be a YAML mapping")
    return data
