"""The processor image: built from `apps/processor` and pushed to the stack's registry, tagged with
the content hash of its build context, so an unchanged tree never builds again.

Two builders share one build context (a deterministic tar.gz of exactly the hashed files):
- `acr` (default): an ACR quick build. The context goes to the registry's build-source upload
  URL, a Docker build run is scheduled and polled to completion; a failed run fails the deployment
  with the tail of its log. No local Docker needed.
- `docker`: `docker build` + `docker push` with the local engine (log in first with
  `az acr login --name <registry>`).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from infra.dynamic import _tree
from infra.dynamic._azure import blob_client, management_client, progress, text, wait_for
from infra.dynamic._props import changed_keys, inputs_of

# Bump to rebuild every image after a change to how images are built (Pulumi does not notice
# changes to provider code on its own).
PROVIDER_VERSION = "1"

BUILDERS = ("acr", "docker")
TAG_LENGTH = 16
LOG_TAIL_LINES = 40
TERMINAL_RUN_STATES = frozenset({"Succeeded", "Failed", "Canceled", "Error", "Timeout"})

# A change to any of these means a different image: build it.
BUILD_KEYS = (
    "provider_version",
    "source_hash",
    "subscription_id",
    "resource_group_name",
    "registry_name",
    "login_server",
    "repository",
    "dockerfile",
    "platform",
)
# These change how we build, not what: they update the state without a build.
SETTING_KEYS = ("builder", "build_timeout_seconds", "poll_interval_seconds")


class BuildFailedError(RuntimeError):
    """The image build or push failed; the message ends with the tail of the build log."""


@dataclass(frozen=True)
class BuildContext:
    """The hashed file set of a build context folder and what it hashes to."""

    files: list[_tree.SourceFile]
    source_hash: str

    @classmethod
    def of(cls, source_dir: Path, dockerfile: str, platform: str) -> BuildContext:
        files = _tree.list_files(source_dir)
        if not any(f.arcname == dockerfile for f in files):
            raise FileNotFoundError(
                f"{source_dir / dockerfile} not found: the processor image needs a Dockerfile "
                "in its build context"
            )
        # The Dockerfile name and platform change the image too, so they are part of the tag.
        source_hash = _tree.content_hash(files, extra=[f"dockerfile={dockerfile}", platform])
        return cls(files, source_hash)

    @property
    def tag(self) -> str:
        return self.source_hash[:TAG_LENGTH]


def _tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _image_ref(login_server: str, repository: str, digest: str) -> str:
    """`name@digest`: the image pinned by content alone. A tag beside the digest says nothing more
    (the digest wins in Docker's reference grammar) and whether Batch parses `name:tag@digest` is
    not documented; the tag stays an output of its own."""
    return f"{login_server}/{repository}@{digest}"


def _build_with_acr(props: dict[str, Any], tag: str, context: bytes) -> tuple[str, str]:
    """Quick-build `context` in ACR; returns (digest, run id)."""
    from azure.mgmt.containerregistry.v2019_06_01_preview import (
        ContainerRegistryManagementClient,
    )
    from azure.mgmt.containerregistry.v2019_06_01_preview.models import (
        DockerBuildRequest,
        PlatformProperties,
    )

    rg, registry = props["resource_group_name"], props["registry_name"]
    os_name, _, architecture = str(props["platform"]).partition("/")
    with management_client(ContainerRegistryManagementClient, props["subscription_id"]) as acr:
        source = acr.registries.get_build_source_upload_url(rg, registry)
        if not source.upload_url or not source.relative_path:
            raise BuildFailedError(f"registry {registry} returned no build-source upload URL")
        progress(f"uploading the processor build context ({len(context):,} bytes) to {registry}")
        with blob_client(source.upload_url) as upload:  # a SAS URL: no role needed
            upload.upload_blob(context, overwrite=True)

        request = DockerBuildRequest(
            source_location=source.relative_path,
            docker_file_path=props["dockerfile"],
            image_names=[f"{props['repository']}:{tag}"],
            is_push_enabled=True,
            platform=PlatformProperties(os=os_name.capitalize(), architecture=architecture),
            timeout=int(props["build_timeout_seconds"]),
        )
        run = acr.registries.begin_schedule_run(rg, registry, request).result()
        run_id = str(run.run_id)
        progress(f"ACR run {run_id} is building {props['repository']}:{tag}")

        seen = text(run.status)

        def finished() -> bool:
            nonlocal run, seen
            run = acr.runs.get(rg, registry, run_id)
            if text(run.status) != seen:
                seen = text(run.status)
                progress(f"ACR run {run_id}: {seen}")
            return seen in TERMINAL_RUN_STATES

        wait_for(
            f"ACR run {run_id}",
            finished,
            timeout_seconds=float(props["build_timeout_seconds"]) + 300,
            interval_seconds=float(props["poll_interval_seconds"]),
        )
        status = text(run.status)
        if status != "Succeeded":
            raise BuildFailedError(
                f"ACR run {run_id} ended {status} building {props['repository']}:{tag}. "
                f"Last lines of its log:\n{_tail(_run_log(acr, rg, registry, run_id))}"
            )
        for image in run.output_images or []:
            if image.repository == props["repository"] and image.tag == tag and image.digest:
                return image.digest, run_id
        raise BuildFailedError(f"ACR run {run_id} succeeded but reported no digest for {tag}")


def _run_log(acr: Any, rg: str, registry: str, run_id: str) -> str:
    """An ACR run's log, read through the SAS link ACR hands out ("" when it has none)."""
    link = acr.runs.get_log_sas_url(rg, registry, run_id).log_link
    if not link:
        return ""
    with blob_client(link) as log_blob:
        return log_blob.download_blob().readall().decode("utf-8", "replace")


def _docker(args: list[str], *, stdin: bytes | None = None, timeout: float) -> str:
    try:
        done = subprocess.run(
            ["docker", *args], input=stdin, capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError as error:
        raise BuildFailedError(
            "the docker builder needs the `docker` command on PATH: install Docker, or set the "
            "stack's image builder to `acr`"
        ) from error
    output = (done.stdout + done.stderr).decode("utf-8", "replace")
    if done.returncode != 0:
        raise BuildFailedError(
            f"`docker {args[0]}` failed (exit {done.returncode}). Last lines of its output:\n"
            f"{_tail(output)}"
        )
    return done.stdout.decode("utf-8", "replace")


def _build_with_docker(props: dict[str, Any], tag: str, context: bytes) -> tuple[str, str]:
    """Build `context` (fed on stdin, so Docker sees exactly the hashed files) and push it."""
    repository = f"{props['login_server']}/{props['repository']}"
    ref = f"{repository}:{tag}"
    timeout = float(props["build_timeout_seconds"])
    progress(f"docker build {ref}")
    build_args = ["build", "--platform", props["platform"], "-f", props["dockerfile"], "-t", ref]
    _docker([*build_args, "-"], stdin=context, timeout=timeout)
    progress(f"docker push {ref}")
    try:
        _docker(["push", ref], timeout=timeout)
    except BuildFailedError as error:
        raise BuildFailedError(
            f"{error}\nIs Docker logged in to the registry? Run `az acr login --name "
            f"{props['registry_name']}`."
        ) from error
    digests = json.loads(
        _docker(["image", "inspect", "--format", "{{json .RepoDigests}}", ref], timeout=60)
    )
    for entry in digests or []:
        name, _, digest = str(entry).partition("@")
        if name == repository and digest:
            return digest, "docker"
    raise BuildFailedError(f"docker pushed {ref} but reported no digest for {repository}")


class ProcessorImageProvider(ResourceProvider):
    """Builds and pushes the image when its content hash (or target) changes, and only then."""

    def _build(self, props: dict[str, Any]) -> dict[str, Any]:
        context = BuildContext.of(Path(props["source_dir"]), props["dockerfile"], props["platform"])
        if context.source_hash != props["source_hash"]:
            raise RuntimeError(
                f"{props['source_dir']} changed while the deployment was running: run it again"
            )
        archive = _tree.tar_gz(context.files)
        builder = _build_with_docker if props["builder"] == "docker" else _build_with_acr
        digest, build_id = builder(props, context.tag, archive)
        image = _image_ref(props["login_server"], props["repository"], digest)
        progress(f"processor image ready: {image}")
        return {**inputs_of(props), "image": image, "digest": digest, "build_id": build_id}

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._build(props)
        return CreateResult(id_=f"{props['login_server']}/{props['repository']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = changed_keys(olds, news, BUILD_KEYS + SETTING_KEYS)
        return DiffResult(changes=bool(changes), replaces=[], delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        if changed_keys(olds, news, BUILD_KEYS):
            return UpdateResult(outs=self._build(news))
        # Only a build setting changed: the image is the one we already have.
        kept = {k: olds[k] for k in ("image", "digest", "build_id")}
        return UpdateResult(outs={**inputs_of(news), **kept})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        # Images are left in the registry: a pool may still be pulling this tag while the stack
        # changes, and the registry (with every image in it) is deleted with the stack anyway.
        progress(f"leaving {props.get('image')} in the registry")


@dataclass
class ProcessorImageArgs:
    subscription_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    registry_name: pulumi.Input[str]
    login_server: pulumi.Input[str]  # <registry>.azurecr.io
    source_dir: str  # the build context (apps/processor)
    repository: str = "processor"
    dockerfile: str = "Dockerfile"
    platform: str = "linux/amd64"
    builder: str = "acr"  # one of BUILDERS (stack config: imageBuilder)
    build_timeout_seconds: int = 3600
    poll_interval_seconds: float = 5.0


def image_props(args: ProcessorImageArgs) -> dict[str, Any]:
    """The property bag a ProcessorImage hands its provider (outputs seeded to None)."""
    if args.builder not in BUILDERS:
        raise ValueError(
            f"image builder {args.builder!r} is not supported: use one of {', '.join(BUILDERS)}"
        )
    source_dir = Path(args.source_dir).resolve()
    context = BuildContext.of(source_dir, args.dockerfile, args.platform)
    return {
        "provider_version": PROVIDER_VERSION,
        "source_dir": str(source_dir),
        "source_hash": context.source_hash,
        "tag": context.tag,
        "subscription_id": args.subscription_id,
        "resource_group_name": args.resource_group_name,
        "registry_name": args.registry_name,
        "login_server": args.login_server,
        "repository": args.repository,
        "dockerfile": args.dockerfile,
        "platform": args.platform,
        "builder": args.builder,
        "build_timeout_seconds": args.build_timeout_seconds,
        "poll_interval_seconds": args.poll_interval_seconds,
        # Outputs, known after the build.
        "image": None,
        "digest": None,
        "build_id": None,
    }


class ProcessorImage(Resource, module="rosbag", name="ProcessorImage"):
    """The processor image in ACR; `image` is `<login server>/<repository>@<digest>`."""

    image: pulumi.Output[str]
    tag: pulumi.Output[str]
    digest: pulumi.Output[str]
    source_hash: pulumi.Output[str]

    def __init__(
        self, name: str, args: ProcessorImageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(ProcessorImageProvider(), name, image_props(args), opts)
