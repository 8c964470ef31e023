"""The GitHub Actions workflows: valid against GitHub's workflow schema (check-jsonschema's
vendored copy, no network), and true to what the project promises: OIDC with no stored secret,
previews of every stack on pull requests, dev deployed and proven by a pipeline run on main,
prod behind an approval."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.layers.orchestration import SAMPLE_BAG
from ops.cli import build_parser

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in REPO_ROOT.glob("Pulumi.*.yaml"))


def load(name: str) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); put it back under its name.
    document = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    document["on"] = document.pop(True)
    return document


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job.get("steps", [])


def uses(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in steps(job) if str(s.get("uses", "")).startswith(action + "@")]


def run_text(job: dict[str, Any]) -> str:
    return "\n".join(str(s.get("run", "")) for s in steps(job))


def workflow_files() -> list[Path]:
    return sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))


def validate(files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]
        + [str(f) for f in files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflows_validate_against_the_github_workflow_schema() -> None:
    files = workflow_files()
    assert [f.name for f in files] == ["ci.yml", "deploy.yml"]

    result = validate(files)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-24.04\n"
        "    permissions:\n      id-token: sometimes\n    steps:\n      - run: make test\n",
        encoding="utf-8",
    )

    result = validate([broken])

    assert result.returncode == 1
    assert "id-token" in result.stdout


@pytest.mark.parametrize("path", workflow_files(), ids=lambda p: p.name)
def test_no_stored_secrets_and_oidc_for_every_azure_login(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "secrets." not in text, "use OIDC and repository variables, not stored secrets"

    for name, job in load(path.name)["jobs"].items():
        logins = uses(job, "azure/login")
        if not logins:
            continue
        assert job["permissions"]["id-token"] == "write", name
        for login in logins:
            assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, name
            assert all("vars.AZURE_" in value for value in login["with"].values()), name
        # The azure-native provider fetches its own OIDC tokens (outlives the CLI's token).
        assert job["env"]["ARM_USE_OIDC"] == "true", name


def test_pull_requests_run_the_tests_and_preview_every_stack() -> None:
    ci = load("ci.yml")
    assert "pull_request" in ci["on"]
    jobs = ci["jobs"]
    assert "./.ci/run" in run_text(jobs["test"])

    preview = jobs["preview"]
    assert preview["needs"] == "test"
    assert preview["strategy"]["matrix"]["stack"] == STACKS == ["dev", "prod"]
    [pulumi] = uses(preview, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["stack-name"] == "${{ matrix.stack }}"
    # Previews never deploy and never wait for an environment approval.
    assert "environment" not in preview


def test_main_deploys_dev_proves_it_with_a_pipeline_run_then_prod_after_approval() -> None:
    deploy = load("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]

    dev, prod = jobs["dev"], jobs["prod"]
    assert (dev["needs"], dev["environment"]) == ("test", "dev")
    assert (prod["needs"], prod["environment"]) == ("dev", "prod")
    for job, stack in ((dev, "dev"), (prod, "prod")):
        [up] = uses(job, "pulumi/actions")
        assert (up["with"]["command"], up["with"]["stack-name"]) == ("up", stack)
        assert job["concurrency"] == {"group": f"pulumi-{stack}", "cancel-in-progress": False}

    names = [s.get("name", s.get("uses")) for s in steps(dev)]
    up_at = names.index("pulumi up")
    run_at = names.index("Run extract-bags on the sample bag (must succeed)")
    assert up_at < run_at
    assert "set -o pipefail" in steps(dev)[run_at]["run"]  # tee must not hide a failed run
    # The summary is published whatever the run's result.
    assert steps(dev)[-1]["if"].startswith("always()")


def test_the_pipeline_run_uses_the_sample_bag_the_deployment_seeds() -> None:
    dev = load("deploy.yml")["jobs"]["dev"]
    # The Data Factory copies the sample into rawPath at `pulumi up` (infra/components/
    # sample_data.py), so the runner needs no hole in the data lake firewall.
    assert "network-rule" not in run_text(dev)
    assert "az storage" not in run_text(dev)
    assert dev["env"]["SAMPLE_BAG"] == SAMPLE_BAG.name
    assert '--input-path "$sample"' in run_text(dev)
    assert 'sample="$(jq -r .rawPath stack-outputs.json)$SAMPLE_BAG"' in run_text(dev)
    dev_stack = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8"))
    assert dev_stack["config"].get("rosbag-batch:uploadSampleBag", True) is True


def test_the_ops_command_in_the_workflow_parses_with_the_real_cli() -> None:
    dev = load("deploy.yml")["jobs"]["dev"]
    [command] = [s["run"] for s in steps(dev) if "-m ops run" in str(s.get("run", ""))]
    line = re.sub(r"\\\n\s*", " ", command).split("-m ops run", 1)[1].split("|", 1)[0]
    argv = ["run", *shlex.split(line)]

    args = build_parser().parse_args(argv)

    assert args.min_bags == 1  # an empty input path must not pass as success
    assert args.stack_outputs == "stack-outputs.json"


def test_make_targets_named_in_workflows_exist() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8").replace("$(VENV)", ".venv")
    for path in workflow_files():
        for target in re.findall(r"\bmake ([\w./-]+)", path.read_text(encoding="utf-8")):
            assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{path.name}: {target}"
