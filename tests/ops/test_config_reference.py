"""The README's configuration reference is generated from Pulumi.yaml and must stay in sync."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from ops import config_reference
from ops.config_reference import (
    BEGIN,
    END,
    ConfigReferenceError,
    read_schema,
    render_reference,
    replace_block,
)

PROJECT = """\
name: rosbag-batch
runtime: python
config:
  nodeCount:
    type: integer
    default: 2
    description: |
      Nodes in the
      execution pool (a | in text).
  alertEmail:
    type: string
    secret: true
    description: Where alerts go.
  topics:
    type: array
    items:
      type: string
    default: []
    description: Topics to extract.
  azure-native:location: westeurope
"""

README = f"# Title\n\nIntro.\n\n{BEGIN}\nstale\n{END}\n\n## After\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_renders_one_row_per_key_with_type_default_and_description(tmp_path: Path) -> None:
    project, keys = read_schema(write(tmp_path, "Pulumi.yaml", PROJECT))

    rows = [line for line in render_reference(project, keys).splitlines() if line.startswith("| `")]

    assert rows == [
        r"| `nodeCount` | integer | `2` | Nodes in the execution pool (a \| in text). |",
        "| `alertEmail` | string, secret | required (secret) | Where alerts go. |",
        "| `topics` | array of string | `[]` | Topics to extract. |",
        "| `azure-native:location` | string | `westeurope` |  |",
    ]


def test_replaces_only_the_block_between_the_markers() -> None:
    updated = replace_block(README, "NEW TABLE")

    assert updated == f"# Title\n\nIntro.\n\n{BEGIN}\nNEW TABLE\n{END}\n\n## After\n"
    assert replace_block(updated, "NEW TABLE") == updated


def test_missing_markers_are_reported_with_the_fix() -> None:
    with pytest.raises(ConfigReferenceError, match="needs the markers <!-- BEGIN"):
        replace_block("# README without markers\n", "table")


def test_check_fails_on_a_stale_readme_and_writing_fixes_it(tmp_path: Path) -> None:
    project = write(tmp_path, "Pulumi.yaml", PROJECT)
    readme = write(tmp_path, "README.md", README)
    log = io.StringIO()

    assert config_reference.main(str(project), str(readme), check=True, stream=log) == 1
    assert readme.read_text(encoding="utf-8") == README  # --check changes nothing
    assert "run `python -m ops config-reference`" in log.getvalue()

    assert config_reference.main(str(project), str(readme), check=False, stream=log) == 0
    assert "| `nodeCount` | integer | `2` |" in readme.read_text(encoding="utf-8")
    assert config_reference.main(str(project), str(readme), check=True, stream=log) == 0


def test_the_repository_readme_matches_pulumi_yaml() -> None:
    """Fails when someone edits Pulumi.yaml's config schema without regenerating the README."""
    log = io.StringIO()

    code = config_reference.main(
        str(config_reference.PULUMI_YAML), str(config_reference.README), check=True, stream=log
    )

    assert code == 0, log.getvalue()
