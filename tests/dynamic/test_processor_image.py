"""The processor image provider as plain Python: ACR quick builds against the fake ARM and
Azurite, and the local Docker builder against a fake `docker` that records its arguments."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from infra.dynamic import processor_image as pi
from tests.dynamic.azurite import Azurite
from tests.dynamic.fake_arm import SOURCES_CONTAINER, FakeArm
from tests.dynamic.helpers import (
    LOGIN_SERVER,
    REGISTRY,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    copy_app,
    up,
)


def _props(source: Path, **overrides: Any) -> dict[str, Any]:
    args = pi.ProcessorImageArgs(
        subscription_id=SUBSCRIPTION,
        resource_group_name=RESOURCE_GROUP,
        registry_name=REGISTRY,
        login_server=LOGIN_SERVER,
        source_dir=str(source),
        poll_interval_seconds=0.01,
    )
    for key, value in overrides.items():
        setattr(args, key, value)
    return pi.image_props(args)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return copy_app("processor", tmp_path)


def _touch(source: Path) -> None:
    module = source / "processor" / "__init__.py"
    module.write_text(module.read_text() + "\n# touched\n")


def test_acr_build_uploads_the_hashed_context_and_reports_tag_and_digest(
    fake_arm: FakeArm, azurite: Azurite, source: Path
) -> None:
    props = _props(source)
    outs = pi.ProcessorImageProvider().create(props).outs or {}

    tag = props["tag"]
    # Pinned by digest alone: `name@digest` (docs/azure-behaviour.md, "Container Registry").
    assert outs["image"] == f"{LOGIN_SERVER}/processor@{outs['digest']}"
    assert outs["digest"].startswith("sha256:")
    [schedule] = fake_arm.calls_to("POST", "/scheduleRun")
    assert schedule.body["type"] == "DockerBuildRequest"
    assert schedule.body["imageNames"] == [f"processor:{tag}"]
    assert schedule.body["isPushEnabled"] is True
    assert schedule.body["platform"] == {"os": "Linux", "architecture": "amd64"}
    # The uploaded context is exactly the hashed file set: no caches, the Dockerfile at its root.
    [blob] = fake_arm.source_uploads.values()
    context = azurite.read(SOURCES_CONTAINER, blob) or b""
    with tarfile.open(fileobj=io.BytesIO(context), mode="r:gz") as tar:
        names = tar.getnames()
    assert "Dockerfile" in names and "processor/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or ".egg-info" in n]
    assert len(fake_arm.calls_to("GET", "")) >= 2  # polled until the run finished


def test_an_unchanged_up_makes_no_build_calls(fake_arm: FakeArm, source: Path) -> None:
    provider = pi.ProcessorImageProvider()
    outs = provider.create(_props(source)).outs or {}
    fake_arm.clear_calls()

    assert not provider.diff("id", outs, _props(source)).changes
    assert up(provider, outs, _props(source)) == outs
    assert fake_arm.calls == []


def test_a_source_change_builds_a_new_tag(fake_arm: FakeArm, source: Path) -> None:
    provider = pi.ProcessorImageProvider()
    outs = provider.create(_props(source)).outs or {}
    _touch(source)
    news = _props(source)
    diff = provider.diff("id", outs, news)
    assert diff.changes and diff.replaces == []

    updated = up(provider, outs, news)
    assert updated["tag"] != outs["tag"]
    assert updated["image"].startswith(f"{LOGIN_SERVER}/processor@sha256:")
    assert updated["image"] != outs["image"]
    assert len(fake_arm.calls_to("POST", "/scheduleRun")) == 2


def test_switching_builders_alone_rebuilds_nothing(fake_arm: FakeArm, source: Path) -> None:
    provider = pi.ProcessorImageProvider()
    outs = provider.create(_props(source)).outs or {}
    fake_arm.clear_calls()
    updated = up(provider, outs, _props(source, builder="docker"))
    assert updated["builder"] == "docker"
    assert updated["image"] == outs["image"]
    assert fake_arm.calls == []


def test_a_failed_build_fails_with_the_tail_of_its_log(fake_arm: FakeArm, source: Path) -> None:
    fake_arm.faults.build_status = "Failed"
    fake_arm.faults.build_log = "".join(f"step {n}\n" for n in range(100)) + "ERROR: pip failed\n"
    with pytest.raises(pi.BuildFailedError) as failure:
        pi.ProcessorImageProvider().create(_props(source))
    message = str(failure.value)
    assert "ended Failed" in message
    assert message.rstrip().endswith("ERROR: pip failed")
    assert "step 99" in message and "step 10\n" not in message  # the tail, not the whole log


def test_a_source_folder_without_a_dockerfile_is_refused_at_preview(source: Path) -> None:
    (source / "Dockerfile").unlink()
    with pytest.raises(FileNotFoundError, match="needs a Dockerfile"):
        _props(source)


def test_an_unknown_builder_is_refused_with_the_choices(source: Path) -> None:
    with pytest.raises(ValueError, match="use one of acr, docker"):
        _props(source, builder="podman")


def test_delete_leaves_the_image_and_calls_nothing(fake_arm: FakeArm, source: Path) -> None:
    provider = pi.ProcessorImageProvider()
    outs = provider.create(_props(source)).outs or {}
    fake_arm.clear_calls()
    provider.delete("id", outs)
    assert fake_arm.calls == []


# ---- the local Docker builder -------------------------------------------------------------

FAKE_DOCKER = """\
import io, json, os, sys, tarfile
args = sys.argv[1:]
with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[0] == os.environ.get("FAKE_DOCKER_FAIL"):
    print("denied: requested access to the resource is denied", file=sys.stderr)
    sys.exit(1)
if args[0] == "build":
    with tarfile.open(fileobj=io.BytesIO(sys.stdin.buffer.read()), mode="r:gz") as tar:
        names = tar.getnames()
    if args[args.index("-f") + 1] not in names:
        sys.exit("unable to prepare context: Dockerfile missing")
elif args[0] == "image":
    repository = args[-1].rsplit(":", 1)[0]
    print(json.dumps(["other.io/x@sha256:0", repository + "@sha256:" + "ab" * 32]))
"""


@pytest.fixture
def fake_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text(f"#!{sys.executable}\n{FAKE_DOCKER}")
    docker.chmod(0o755)
    log = tmp_path / "docker-calls.jsonl"
    monkeypatch.setenv("PATH", f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_DOCKER_LOG", str(log))
    return log


def _docker_calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_docker_builder_builds_the_hashed_context_pushes_and_reads_the_digest(
    fake_docker: Path, source: Path
) -> None:
    props = _props(source, builder="docker")
    outs = pi.ProcessorImageProvider().create(props).outs or {}

    ref = f"{LOGIN_SERVER}/processor:{props['tag']}"
    build, push, inspect = _docker_calls(fake_docker)
    assert build == ["build", "--platform", "linux/amd64", "-f", "Dockerfile", "-t", ref, "-"]
    assert push == ["push", ref]
    assert inspect[:2] == ["image", "inspect"] and inspect[-1] == ref
    assert outs["image"] == f"{LOGIN_SERVER}/processor@sha256:{'ab' * 32}"
    assert outs["build_id"] == "docker"


def test_docker_builder_unchanged_up_runs_no_docker(fake_docker: Path, source: Path) -> None:
    provider = pi.ProcessorImageProvider()
    outs = provider.create(_props(source, builder="docker")).outs or {}
    fake_docker.unlink()
    up(provider, outs, _props(source, builder="docker"))
    assert _docker_calls(fake_docker) == []


def test_docker_push_failure_says_how_to_log_in(
    fake_docker: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DOCKER_FAIL", "push")
    with pytest.raises(pi.BuildFailedError) as failure:
        pi.ProcessorImageProvider().create(_props(source, builder="docker"))
    assert "requested access to the resource is denied" in str(failure.value)
    assert f"az acr login --name {REGISTRY}" in str(failure.value)


def test_docker_builder_without_docker_names_the_alternative(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(pi.BuildFailedError, match="set the stack's image builder to `acr`"):
        pi.ProcessorImageProvider().create(_props(source, builder="docker"))
