"""The sample-seed provider as plain Python: the bag goes to Batch storage with the deployer's
Entra ID token (Azurite, OAuth on), a run of the Copy pipeline puts it into the data lake (the
fake ARM's ADF), and a failed run fails the deployment with ADF's reason."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from infra.dynamic import sample_seed as ss
from tests.dynamic.azurite import Azurite
from tests.dynamic.fake_arm import CopyPipeline, FakeArm
from tests.dynamic.helpers import REPOSITORY_ROOT, RESOURCE_GROUP, SUBSCRIPTION, up

FACTORY = "datafactory-factory1234567"
PIPELINE = "seed-sample"
BAG = "gps-navsatfix.bag"


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    copy = tmp_path / BAG
    shutil.copy(REPOSITORY_ROOT / "tests" / "data" / "bags" / BAG, copy)
    return copy


@pytest.fixture
def samples(azurite: Azurite) -> str:
    """The Batch storage container the bag goes to (the stack creates it)."""
    azurite.ensure_container("samples")
    return "samples"


@pytest.fixture
def pipeline(fake_arm: FakeArm, samples: str) -> CopyPipeline:
    # What infra/components/sample_data.py declares: samples/<bag> -> data/raw/<bag>.
    copy = CopyPipeline(samples, BAG, "data", f"raw/{BAG}")
    fake_arm.pipelines[PIPELINE] = copy
    return copy


def _props(azurite: Azurite, bag: Path, **overrides: Any) -> dict[str, Any]:
    args = ss.SampleSeedArgs(
        subscription_id=SUBSCRIPTION,
        resource_group_name=RESOURCE_GROUP,
        factory_name=FACTORY,
        pipeline_name=PIPELINE,
        staging_blob_url=azurite.blob_url("samples", BAG),
        destination=f"rbdevlake/data/raw/{BAG}",
        source_path=str(bag),
        poll_interval_seconds=0.01,
    )
    for key, value in overrides.items():
        setattr(args, key, value)
    return ss.seed_props(args)


def test_create_uploads_with_entra_id_and_the_pipeline_puts_the_bag_into_raw(
    fake_arm: FakeArm, azurite: Azurite, bag: Path, pipeline: CopyPipeline
) -> None:
    outs = ss.SampleSeedProvider().create(_props(azurite, bag)).outs or {}
    assert azurite.read("data", f"raw/{BAG}") == bag.read_bytes()
    assert "https://storage.azure.com" in fake_arm.token_audiences  # no SAS, no key
    assert outs["run_id"] in fake_arm.pipeline_runs
    assert len(fake_arm.calls_to("POST", f"/pipelines/{PIPELINE}/createRun")) == 1


def test_an_unchanged_up_runs_nothing(
    fake_arm: FakeArm, azurite: Azurite, bag: Path, pipeline: CopyPipeline
) -> None:
    provider = ss.SampleSeedProvider()
    outs = provider.create(_props(azurite, bag)).outs or {}
    fake_arm.clear_calls()
    assert up(provider, outs, _props(azurite, bag)) == outs
    assert fake_arm.calls == []


def test_a_new_sample_is_copied_again(
    fake_arm: FakeArm, azurite: Azurite, bag: Path, pipeline: CopyPipeline
) -> None:
    provider = ss.SampleSeedProvider()
    outs = provider.create(_props(azurite, bag)).outs or {}
    bag.write_bytes(bag.read_bytes() + b"\0")
    up(provider, outs, _props(azurite, bag))
    assert azurite.read("data", f"raw/{BAG}") == bag.read_bytes()
    assert len(fake_arm.pipeline_runs) == 2


def test_a_failed_run_fails_the_deployment_with_adfs_reason(
    fake_arm: FakeArm, azurite: Azurite, bag: Path, pipeline: CopyPipeline
) -> None:
    fake_arm.faults.pipeline_failure = (
        "ErrorCode=AdlsGen2OperationFailed,'This request is not authorized to perform this "
        "operation using this permission.'"
    )
    with pytest.raises(ss.SeedFailedError, match=r"AdlsGen2OperationFailed.*uploadSampleBag"):
        ss.SampleSeedProvider().create(_props(azurite, bag))


def test_a_missing_pipeline_is_an_error_naming_it(
    fake_arm: FakeArm, azurite: Azurite, bag: Path, samples: str
) -> None:
    with pytest.raises(Exception, match="pipeline seed-sample does not exist"):
        ss.SampleSeedProvider().create(_props(azurite, bag))


def test_delete_leaves_the_bag(
    fake_arm: FakeArm, azurite: Azurite, bag: Path, pipeline: CopyPipeline
) -> None:
    provider = ss.SampleSeedProvider()
    outs = provider.create(_props(azurite, bag)).outs or {}
    provider.delete("id", outs)
    assert azurite.read("data", f"raw/{BAG}") == bag.read_bytes()
