"""Where `ops run` gets the stack outputs from, and the errors it gives when they are unusable."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ops.cli import main
from ops.stack_outputs import STACK_OUTPUTS_ENV, StackOutputsError, load_stack_outputs
from tests.ops.helpers import stack_outputs

OUTPUTS = stack_outputs("https://batchrosbagdev.westeurope.batch.azure.com")


def test_reads_a_file_written_by_pulumi_stack_output(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS, indent=4), encoding="utf-8")

    outputs = load_stack_outputs(str(path), environ={})

    assert outputs.data_factory_name == "adf-rosbag-dev"
    assert outputs.batch_account_endpoint == "https://batchrosbagdev.westeurope.batch.azure.com"
    assert (outputs.raw_path, outputs.extracted_path) == ("raw/", "extracted/")


def test_reads_standard_input_for_dash() -> None:
    outputs = load_stack_outputs("-", stdin=io.StringIO(json.dumps(OUTPUTS)), environ={})

    assert outputs.pipeline_name == "extract-bags"


def test_reads_the_environment_in_ci_when_no_location_is_given() -> None:
    changed = {**OUTPUTS, "resourceGroupName": "rg-from-env"}

    outputs = load_stack_outputs(None, environ={STACK_OUTPUTS_ENV: json.dumps(changed)})

    assert outputs.resource_group_name == "rg-from-env"


def test_an_explicit_file_wins_over_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(OUTPUTS), encoding="utf-8")
    other = {**OUTPUTS, "dataFactoryName": "adf-other"}

    outputs = load_stack_outputs(str(path), environ={STACK_OUTPUTS_ENV: json.dumps(other)})

    assert outputs.data_factory_name == "adf-rosbag-dev"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("", r"is empty: check that `pulumi stack output --json` succeeded"),
        ("  \n", r"is empty: check that `pulumi stack output --json` succeeded"),
        ("[secret]", "not JSON"),
        ('["dataFactoryName"]', "not a JSON object"),
        (json.dumps({"subscriptionId": "x"}), "lack location, resourceGroupName, dataFactoryName"),
        (json.dumps({**OUTPUTS, "batchAccountEndpoint": None}), "lack batchAccountEndpoint:"),
    ],
)
def test_unusable_outputs_name_the_problem(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(StackOutputsError, match=expected):
        load_stack_outputs(str(path), environ={})


def test_cli_exits_2_with_the_fix_when_no_outputs_are_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(STACK_OUTPUTS_ENV, raising=False)
    stderr = io.StringIO()

    code = main(["run"], stderr=stderr, stdout=io.StringIO())

    assert code == 2
    message = stderr.getvalue()
    assert message.startswith("ops run: no stack outputs given: pass --stack-outputs FILE")
    assert "pulumi stack output --json > FILE" in message
    assert STACK_OUTPUTS_ENV in message


def test_cli_exits_2_for_a_missing_file(tmp_path: Path) -> None:
    stderr = io.StringIO()

    code = main(["run", "--stack-outputs", str(tmp_path / "nope.json")], stderr=stderr)

    assert code == 2
    assert f"cannot read the stack outputs file {tmp_path / 'nope.json'}" in stderr.getvalue()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--parameter", "format"], "'format' is not KEY=VALUE"),
        (["--timeout", "0"], "0 must be above zero"),
        (["--format", "xlsx"], "invalid choice: 'xlsx'"),
        (["--min-bags", "-1"], "-1 must not be negative"),
    ],
)
def test_cli_rejects_bad_options(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["run", *argv])

    assert exit_info.value.code == 2
    assert expected in capsys.readouterr().err
