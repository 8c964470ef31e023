"""The orchestrator as a Batch application package, published only when its content hash changes.

Publishing a version (docs/azure-behaviour.md, "Batch management plane"): the application
(allowUpdates) → package version create, which returns the upload URL (newer API versions return
`storageUrl` only from this PUT) → upload the zip and check the stored size (a known CLI bug
uploaded a path instead of the zip) → activate → make it the default version. With auto-storage in
`BatchAccountManagedIdentity` mode the URL carries no SAS, so the upload authenticates with the
deployer's Entra ID token: the deployer needs Storage Blob Data Contributor on the auto-storage
account (the program grants it). The default moves only after activation succeeded, so a
failed upload or activation leaves the previous default in place (and removes the half-made
version). The last `keep_previous` versions stay for rollback and for nodes still using them;
older versions this resource published are deleted, and delete removes all of them.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, Resource, ResourceProvider, UpdateResult

from infra.dynamic import _package
from infra.dynamic._azure import management_client, progress, text, upload_file
from infra.dynamic._props import changed_keys, inputs_of
from infra.names import ORCHESTRATOR_APP_ID

if TYPE_CHECKING:
    from azure.mgmt.batch import BatchManagementClient

# Bump to republish after a change to how packages are built.
PROVIDER_VERSION = "1"

ACCOUNT_KEYS = ("subscription_id", "resource_group_name", "batch_account_name", "app_id")
PUBLISH_KEYS = ("provider_version", "content_hash", *ACCOUNT_KEYS)
SETTING_KEYS = ("display_name", "keep_previous", "find_links")


class PublishError(RuntimeError):
    """A package version could not be published; the previous default version is unchanged."""


@dataclass(frozen=True)
class _Account:
    subscription_id: str
    resource_group: str
    name: str
    app_id: str

    @classmethod
    def of(cls, props: dict[str, Any]) -> _Account:
        return cls(
            props["subscription_id"],
            props["resource_group_name"],
            props["batch_account_name"],
            props["app_id"],
        )

    @property
    def application_resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Batch/batchAccounts/{self.name}/applications/{self.app_id}"
        )

    @contextmanager
    def client(self) -> Iterator[BatchManagementClient]:
        from azure.mgmt.batch import BatchManagementClient

        with management_client(BatchManagementClient, self.subscription_id) as client:
            yield client


def _ensure_application(client: BatchManagementClient, acct: _Account, display_name: str) -> bool:
    """Create the application (allowUpdates) unless it exists; True when this call created it."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.mgmt.batch.models import Application, ApplicationProperties

    try:
        existing = client.application.get(acct.resource_group, acct.name, acct.app_id)
    except ResourceNotFoundError:
        existing = None
    if existing is None:
        progress(f"creating Batch application {acct.app_id} in {acct.name}")
        client.application.create(
            acct.resource_group,
            acct.name,
            acct.app_id,
            parameters=Application(
                properties=ApplicationProperties(allow_updates=True, display_name=display_name)
            ),
        )
        return True
    if not existing.allow_updates:
        client.application.update(
            acct.resource_group,
            acct.name,
            acct.app_id,
            Application(properties=ApplicationProperties(allow_updates=True)),
        )
    return False


def _publish(client: BatchManagementClient, acct: _Account, version: str, zip_path: Path) -> None:
    """Create, upload and activate `version`; on failure remove what this call created."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
    from azure.mgmt.batch.models import ActivateApplicationPackageParameters

    args = (acct.resource_group, acct.name, acct.app_id, version)
    try:
        existing = client.application_package.get(*args)
    except ResourceNotFoundError:
        existing = None
    if existing is not None and text(existing.state) == "Active":
        progress(f"{acct.app_id} {version} is already active: nothing to upload")
        return
    if existing is not None:
        # Left pending by an interrupted deployment: start over, its upload URL is gone.
        _delete_version(client, acct, version)

    package = client.application_package.create(*args)
    try:
        if not package.storage_url:
            raise PublishError(f"Batch returned no upload URL for {acct.app_id} {version}")
        size = zip_path.stat().st_size
        progress(f"uploading {acct.app_id} {version} ({size:,} bytes)")
        stored = upload_file(package.storage_url, zip_path)
        if stored != size:
            raise PublishError(
                f"uploaded {acct.app_id} {version} but the stored blob has {stored} bytes, "
                f"not {size}: the upload did not send the zip"
            )
        client.application_package.activate(
            *args, parameters=ActivateApplicationPackageParameters(format="zip")
        )
    except (HttpResponseError, PublishError, TimeoutError) as error:
        _delete_version(client, acct, version)
        raise PublishError(
            f"publishing {acct.app_id} {version} failed; the default version is unchanged. "
            f"Cause: {error}"
        ) from error


def _set_default(client: BatchManagementClient, acct: _Account, version: str) -> None:
    from azure.mgmt.batch.models import Application, ApplicationProperties

    client.application.update(
        acct.resource_group,
        acct.name,
        acct.app_id,
        Application(properties=ApplicationProperties(default_version=version)),
    )
    progress(f"{acct.app_id} default version is now {version}")


def _delete_version(client: BatchManagementClient, acct: _Account, version: str) -> bool:
    """Delete one version; False (with a warning) when Batch refuses, for example while in use."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    try:
        client.application_package.delete(acct.resource_group, acct.name, acct.app_id, version)
    except ResourceNotFoundError:
        pass
    except HttpResponseError as error:
        pulumi.log.warn(f"could not delete {acct.app_id} {version} (kept for now): {error.message}")
        return False
    return True


def _prune(
    client: BatchManagementClient, acct: _Account, published: list[str], keep_previous: int
) -> list[str]:
    """Delete versions beyond the newest `keep_previous` + 1; return the versions still present."""
    cut = max(len(published) - keep_previous - 1, 0)
    too_old, kept = published[:cut], published[cut:]
    survivors = [v for v in too_old if not _delete_version(client, acct, v)]
    return survivors + kept


class OrchestratorPackageProvider(ResourceProvider):
    """Publishes a new package version when the content hash (or the account) changes."""

    def _publish(self, props: dict[str, Any], published: list[str]) -> dict[str, Any]:
        sources = _package.PackageSources.of(Path(props["source_dir"]))
        if sources.content_hash != props["content_hash"]:
            raise RuntimeError(
                f"{props['source_dir']} changed while the deployment was running: run it again"
            )
        version = sources.version
        acct = _Account.of(props)
        with tempfile.TemporaryDirectory(prefix="orchestrator-zip-") as work:
            zip_path = Path(work, f"{acct.app_id}-{version}.zip")
            progress(f"building {acct.app_id} {version} (vendoring its dependencies)")
            _package.build_zip(sources, zip_path, props["find_links"] or None)
            zip_sha256 = hashlib.sha256(zip_path.read_bytes()).hexdigest()
            with acct.client() as client:
                created_application = _ensure_application(client, acct, props["display_name"])
                _publish(client, acct, version, zip_path)
                _set_default(client, acct, version)
                history = [v for v in published if v != version] + [version]
                published = _prune(client, acct, history, int(props["keep_previous"]))
        return {
            **inputs_of(props),
            "package_version": version,
            "application_resource_id": acct.application_resource_id,
            "published_versions": published,
            "created_application": created_application or bool(props.get("created_application")),
            "zip_sha256": zip_sha256,
        }

    def create(self, props: dict[str, Any]) -> CreateResult:
        outs = self._publish(props, [])
        return CreateResult(id_=outs["application_resource_id"], outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = changed_keys(olds, news, PUBLISH_KEYS + SETTING_KEYS)
        # Another account is another resource: publish there, then clean up here.
        replaces = changed_keys(olds, news, ACCOUNT_KEYS)
        return DiffResult(changes=bool(changes), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        carried = {
            k: olds[k]
            for k in (
                "package_version",
                "application_resource_id",
                "published_versions",
                "created_application",
                "zip_sha256",
            )
        }
        if changed_keys(olds, news, PUBLISH_KEYS):
            news = {**news, "created_application": olds.get("created_application", False)}
            return UpdateResult(outs=self._publish(news, list(olds["published_versions"])))
        if olds.get("keep_previous") != news.get("keep_previous"):
            acct = _Account.of(news)
            with acct.client() as client:
                carried["published_versions"] = _prune(
                    client, acct, list(olds["published_versions"]), int(news["keep_previous"])
                )
        return UpdateResult(outs={**inputs_of(news), **carried})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

        acct = _Account.of(props)
        with acct.client() as client:
            try:
                for version in props.get("published_versions") or []:
                    progress(f"deleting {acct.app_id} {version}")
                    _delete_version(client, acct, version)
                if props.get("created_application"):
                    client.application.delete(acct.resource_group, acct.name, acct.app_id)
            except ResourceNotFoundError:
                # The account (and everything in it) is already gone.
                return
            except HttpResponseError as error:
                raise RuntimeError(
                    f"could not delete Batch application {acct.app_id} in {acct.name}: "
                    f"{error.message}. Delete any pools referencing it first."
                ) from error


@dataclass
class OrchestratorPackageArgs:
    subscription_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    batch_account_name: pulumi.Input[str]
    source_dir: str  # apps/orchestrator: run-orchestrator, requirements-node.txt, orchestrator/
    app_id: str = ORCHESTRATOR_APP_ID
    display_name: str = "ROS bag extraction orchestrator"
    keep_previous: int = 2
    # A wheelhouse folder or URL to vendor from instead of the package index (offline builds).
    find_links: str = ""


def package_props(args: OrchestratorPackageArgs) -> dict[str, Any]:
    """The property bag an OrchestratorPackage hands its provider (outputs seeded to None)."""
    if args.keep_previous < 0:
        raise ValueError(f"keep_previous must be 0 or more, not {args.keep_previous}")
    source_dir = Path(args.source_dir).resolve()
    sources = _package.PackageSources.of(source_dir)
    return {
        "provider_version": PROVIDER_VERSION,
        "source_dir": str(source_dir),
        "content_hash": sources.content_hash,
        # Known at preview (it is derived from the sources), so the pool and the ADF command
        # show the version that will be published.
        "package_version": sources.version,
        "subscription_id": args.subscription_id,
        "resource_group_name": args.resource_group_name,
        "batch_account_name": args.batch_account_name,
        "app_id": args.app_id,
        "display_name": args.display_name,
        "keep_previous": args.keep_previous,
        "find_links": args.find_links,
        # Outputs, known after publishing.
        "application_resource_id": None,
        "published_versions": None,
        "created_application": None,
        "zip_sha256": None,
    }


class OrchestratorPackage(Resource, module="rosbag", name="OrchestratorPackage"):
    """The orchestrator published as the Batch application `app_id`, version `package_version`."""

    package_version: pulumi.Output[str]
    application_resource_id: pulumi.Output[str]
    published_versions: pulumi.Output[list[str]]
    content_hash: pulumi.Output[str]

    def __init__(
        self, name: str, args: OrchestratorPackageArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(OrchestratorPackageProvider(), name, package_props(args), opts)
