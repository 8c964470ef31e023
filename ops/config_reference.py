"""The README's configuration reference, generated from the `config:` schema in Pulumi.yaml so
the two cannot drift: `python -m ops config-reference` rewrites the block between the markers,
`--check` fails when it is out of date (tests/ops/test_config_reference.py runs the check)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
PULUMI_YAML = REPO_ROOT / "Pulumi.yaml"
README = REPO_ROOT / "README.md"
BEGIN = "<!-- BEGIN config-reference -->"
END = "<!-- END config-reference -->"


class ConfigReferenceError(ValueError):
    """Pulumi.yaml or the README cannot be used to build the reference."""


@dataclass(frozen=True)
class ConfigKey:
    name: str
    type: str
    default: Any
    has_default: bool
    secret: bool
    description: str


def read_schema(pulumi_yaml: Path) -> tuple[str, list[ConfigKey]]:
    """The project name and its declared config keys, in file order."""
    try:
        project = yaml.safe_load(pulumi_yaml.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigReferenceError(f"cannot read {pulumi_yaml}: {error.strerror}") from error
    if not isinstance(project, dict) or not isinstance(project.get("name"), str):
        raise ConfigReferenceError(f"{pulumi_yaml} has no project `name`")
    schema = project.get("config") or {}
    if not isinstance(schema, dict):
        raise ConfigReferenceError(f"{pulumi_yaml}: `config` must be a mapping of keys")
    keys: list[ConfigKey] = []
    for name, entry in schema.items():
        if isinstance(entry, dict) and ("type" in entry or "description" in entry):
            keys.append(
                ConfigKey(
                    name=str(name),
                    type=_type_text(entry),
                    default=entry.get("default"),
                    has_default="default" in entry,
                    secret=bool(entry.get("secret", False)),
                    description=" ".join(str(entry.get("description", "")).split()),
                )
            )
        else:  # a bare value (e.g. `azure-native:location: westeurope`): a project-wide default
            value = entry.get("value") if isinstance(entry, dict) else entry
            keys.append(ConfigKey(str(name), _python_type(value), value, True, False, ""))
    return project["name"], keys


def _type_text(entry: dict[str, Any]) -> str:
    kind = str(entry.get("type", "string"))
    items = entry.get("items")
    if kind == "array" and isinstance(items, dict) and "type" in items:
        return f"array of {items['type']}"
    return kind


def _python_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _default_text(key: ConfigKey) -> str:
    if not key.has_default:
        return "required" if not key.secret else "required (secret)"
    if key.default == "":
        return "empty"
    value = key.default if isinstance(key.default, str) else json.dumps(key.default)
    return f"`{_cell(value)}`"


def render_reference(project: str, keys: list[ConfigKey]) -> str:
    secrets = "; secrets with `--secret`." if any(key.secret for key in keys) else "."
    lines = [
        "<!-- Generated from Pulumi.yaml by `python -m ops config-reference`; edit the schema, "
        "not this table. -->",
        "",
        f"Set a key with `pulumi config set <key> <value>` (project keys may be written "
        f"`{project}:<key>`){secrets}",
        "",
        "| Key | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for key in keys:
        kind = f"{key.type}, secret" if key.secret else key.type
        lines.append(f"| `{key.name}` | {kind} | {_default_text(key)} | {_cell(key.description)} |")
    return "\n".join(lines)


def replace_block(readme_text: str, block: str, readme_name: str = "README.md") -> str:
    begin, end = readme_text.find(BEGIN), readme_text.find(END)
    if begin < 0 or end < 0 or end < begin:
        raise ConfigReferenceError(
            f"{readme_name} needs the markers {BEGIN} and {END} (in that order) where the "
            "reference goes"
        )
    return readme_text[: begin + len(BEGIN)] + "\n" + block + "\n" + readme_text[end:]


def main(pulumi_yaml: str, readme: str, *, check: bool, stream: TextIO) -> int:
    readme_path = Path(readme)
    try:
        project, keys = read_schema(Path(pulumi_yaml))
        current = readme_path.read_text(encoding="utf-8")
        updated = replace_block(current, render_reference(project, keys), readme_path.name)
    except (ConfigReferenceError, OSError) as error:
        print(f"ops config-reference: {error}", file=stream)
        return 2
    if updated == current:
        print(f"{readme_path.name}: configuration reference is up to date", file=stream)
        return 0
    if check:
        print(
            f"{readme_path.name}: configuration reference differs from {Path(pulumi_yaml).name}: "
            "run `python -m ops config-reference` and commit the result",
            file=stream,
        )
        return 1
    readme_path.write_text(updated, encoding="utf-8")
    print(f"{readme_path.name}: configuration reference written ({len(keys)} keys)", file=stream)
    return 0
