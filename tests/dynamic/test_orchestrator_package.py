"""The orchestrator package provider as plain Python against the fake ARM and Azurite."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from infra.dynamic import orchestrator_package as op
from tests.dynamic.fake_arm import FakeArm, Package
from tests.dynamic.helpers import (
    BATCH_ACCOUNT,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    orchestrator_tree,
    up,
)

APP = "orchestrator"


def _props(source: Path, wheelhouse: Path, **overrides: Any) -> dict[str, Any]:
    args = op.OrchestratorPackageArgs(
        subscription_id=SUBSCRIPTION,
        resource_group_name=RESOURCE_GROUP,
        batch_account_name=BATCH_ACCOUNT,
        source_dir=str(source),
        find_links=str(wheelhouse),
    )
    for key, value in overrides.items():
        setattr(args, key, value)
    return op.package_props(args)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return orchestrator_tree(tmp_path, tmp_path / "wheels")


@pytest.fixture
def wheelhouse(tmp_path: Path, source: Path) -> Path:
    return tmp_path / "wheels"


def _change(source: Path, marker: str) -> None:
    module = source / "orchestrator" / "__init__.py"
    module.write_text(module.read_text() + f"# {marker}\n")


def test_create_publishes_activates_and_makes_the_version_default(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    props = _props(source, wheelhouse)
    outs = op.OrchestratorPackageProvider().create(props).outs or {}

    version = props["package_version"]
    assert outs["package_version"] == version
    assert outs["published_versions"] == [version]
    assert outs["created_application"] is True
    assert outs["application_resource_id"].endswith(
        f"/batchAccounts/{BATCH_ACCOUNT}/applications/{APP}"
    )
    assert fake_arm.applications[APP]["allowUpdates"] is True
    assert fake_arm.applications[APP]["defaultVersion"] == version
    assert fake_arm.packages[(APP, version)].state == "Active"
    # What Batch stored is exactly the zip we built (the CLI once uploaded a path instead).
    assert fake_arm.package_blob(APP, version) is not None
    assert (
        hashlib.sha256(fake_arm.package_blob(APP, version) or b"").hexdigest()
        == (outs["zip_sha256"])
    )
    order = [(c.method, c.path.rsplit("/", 2)[-1]) for c in fake_arm.calls]
    assert order.index(("PUT", version)) < order.index(("POST", "activate"))
    assert order.index(("POST", "activate")) < order.index(("PATCH", APP))


def test_an_unchanged_up_makes_no_calls_at_all(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    provider = op.OrchestratorPackageProvider()
    outs = provider.create(_props(source, wheelhouse)).outs or {}
    fake_arm.clear_calls()
    tokens = fake_arm.token_requests

    # The next `pulumi up` computes the props afresh from the same tree.
    diff = provider.diff("id", outs, _props(source, wheelhouse))
    assert not diff.changes
    assert up(provider, outs, _props(source, wheelhouse)) == outs
    assert fake_arm.calls == []
    assert fake_arm.token_requests == tokens


def test_a_source_change_publishes_a_new_default_and_keeps_recent_versions(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    provider = op.OrchestratorPackageProvider()
    outs = provider.create(_props(source, wheelhouse, keep_previous=1)).outs or {}
    versions = [outs["package_version"]]
    for n in range(3):
        _change(source, f"change {n}")
        news = _props(source, wheelhouse, keep_previous=1)
        assert provider.diff("id", outs, news).replaces == []
        outs = up(provider, outs, news)
        versions.append(outs["package_version"])

    assert len(set(versions)) == 4
    assert fake_arm.applications[APP]["defaultVersion"] == versions[-1]
    # The default plus one previous version stay; older ones this resource made are deleted.
    assert outs["published_versions"] == versions[-2:]
    assert sorted(v for _, v in fake_arm.packages) == sorted(versions[-2:])


def test_returning_to_a_kept_version_uploads_nothing(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    provider = op.OrchestratorPackageProvider()
    first = provider.create(_props(source, wheelhouse)).outs or {}
    original = (source / "orchestrator" / "__init__.py").read_text()
    _change(source, "experiment")
    second = up(provider, first, _props(source, wheelhouse))
    (source / "orchestrator" / "__init__.py").write_text(original)
    fake_arm.clear_calls()

    third = up(provider, second, _props(source, wheelhouse))
    assert third["package_version"] == first["package_version"]
    assert fake_arm.calls_to("PUT", f"/versions/{first['package_version']}") == []
    assert fake_arm.calls_to("POST", "/activate") == []
    assert fake_arm.applications[APP]["defaultVersion"] == first["package_version"]


@pytest.mark.parametrize("fault", ["upload", "activation"])
def test_a_failed_publish_leaves_the_previous_default_in_place(
    fake_arm: FakeArm, source: Path, wheelhouse: Path, fault: str
) -> None:
    provider = op.OrchestratorPackageProvider()
    outs = provider.create(_props(source, wheelhouse)).outs or {}
    previous = outs["package_version"]
    _change(source, "broken deploy")
    news = _props(source, wheelhouse)
    if fault == "upload":
        fake_arm.faults.package_upload_read_only = True
    else:
        fake_arm.faults.fail_activation = True

    with pytest.raises(op.PublishError, match="the default version is unchanged"):
        provider.update("id", outs, news)

    assert fake_arm.applications[APP]["defaultVersion"] == previous
    # The half-made version is removed, so a retry starts clean.
    assert sorted(v for _, v in fake_arm.packages) == [previous]


def test_a_version_left_pending_by_an_interrupted_up_is_published_afresh(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    props = _props(source, wheelhouse)
    version = props["package_version"]
    fake_arm.applications[APP] = {"allowUpdates": True}
    fake_arm.packages[(APP, version)] = Package(state="Pending", blob="never-uploaded.zip")

    op.OrchestratorPackageProvider().create(props)
    assert fake_arm.packages[(APP, version)].state == "Active"
    assert fake_arm.applications[APP]["defaultVersion"] == version


def test_delete_removes_its_versions_and_the_application_it_created(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    provider = op.OrchestratorPackageProvider()
    outs = provider.create(_props(source, wheelhouse)).outs or {}
    _change(source, "second")
    outs = up(provider, outs, _props(source, wheelhouse))
    assert len(fake_arm.packages) == 2

    provider.delete("id", outs)
    assert fake_arm.packages == {}
    assert fake_arm.applications == {}


def test_delete_keeps_an_application_it_did_not_create(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    fake_arm.applications[APP] = {"allowUpdates": False, "displayName": "made by hand"}
    provider = op.OrchestratorPackageProvider()
    outs = provider.create(_props(source, wheelhouse)).outs or {}
    assert outs["created_application"] is False
    assert fake_arm.applications[APP]["allowUpdates"] is True

    provider.delete("id", outs)
    assert fake_arm.packages == {}
    assert fake_arm.applications[APP]["displayName"] == "made by hand"


def test_delete_after_the_account_is_gone_succeeds(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    provider = op.OrchestratorPackageProvider()
    outs = provider.create(_props(source, wheelhouse)).outs or {}
    fake_arm.missing_accounts.add(BATCH_ACCOUNT)
    provider.delete("id", outs)


def test_another_account_replaces_the_resource(source: Path, wheelhouse: Path) -> None:
    provider = op.OrchestratorPackageProvider()
    olds = _props(source, wheelhouse)
    news = _props(source, wheelhouse, batch_account_name="otheraccount")
    diff = provider.diff("id", olds, news)
    assert diff.changes and diff.replaces == ["batch_account_name"]


def test_sources_changing_mid_deployment_are_refused(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    props = _props(source, wheelhouse)
    _change(source, "edited during up")
    with pytest.raises(RuntimeError, match="changed while the deployment was running"):
        op.OrchestratorPackageProvider().create(props)
    assert fake_arm.calls == []


def test_the_upload_url_carries_no_sas_so_the_zip_goes_up_with_the_deployers_token(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    # Auto-storage in BatchAccountManagedIdentity mode hands out a plain blob URL (the fake does,
    # citing azure-mgmt-batch); Azurite refuses an anonymous PUT to it, as Azure does.
    assert fake_arm.auto_storage_mode == "BatchAccountManagedIdentity"
    op.OrchestratorPackageProvider().create(_props(source, wheelhouse))
    assert "https://storage.azure.com" in fake_arm.token_audiences
    assert [p.state for p in fake_arm.packages.values()] == ["Active"]


def test_with_storage_keys_the_sas_url_is_used_and_no_storage_token_is_asked_for(
    fake_arm: FakeArm, source: Path, wheelhouse: Path
) -> None:
    fake_arm.auto_storage_mode = "StorageKeys"
    op.OrchestratorPackageProvider().create(_props(source, wheelhouse))
    assert "https://storage.azure.com" not in fake_arm.token_audiences
    assert [p.state for p in fake_arm.packages.values()] == ["Active"]
