"""pipelines.release.promote: which alias a version that passed its gates (or was forced) moves."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.errors import GateBlockedError
from pipelines.release.promote import promote_model
from pipelines.release.registry import CANDIDATE, CHAMPION, alias_version, register_version
from pipelines.training.lineage import TAG
from pipelines.training.tracking import mlflow_client


@pytest.fixture
def canary(freight_config):
    release = freight_config.release.model_copy(update={"strategy": "canary", "share": 0.25})
    return freight_config.model_copy(update={"release": release})


def gated(client, platform, source: Path, *, promote: bool, against: str | None) -> str:
    """A registered version with the gate's verdict on it, as gate_model leaves it."""
    source.mkdir()
    run_id = client.create_run(client.create_experiment(source.name)).info.run_id
    version = register_version(client, platform, "freight_volume", str(source), run_id, {})
    client.set_model_version_tag("freight_volume", version, f"{TAG}gate.promote", str(promote).lower())
    client.set_model_version_tag("freight_volume", version, f"{TAG}gate.champion_version", against or "")
    return version


def test_under_canary_a_passed_version_becomes_the_candidate_and_a_first_deploy_the_champion(
    platform, canary, tmp_path
):
    client = mlflow_client(platform)
    first = gated(client, platform, tmp_path / "a", promote=True, against=None)
    assert promote_model(platform, canary, client, first).version == first
    assert alias_version(client, "freight_volume", CHAMPION) == first, "nothing live to compare with yet"

    second = gated(client, platform, tmp_path / "b", promote=True, against=first)
    promote_model(platform, canary, client, second)
    assert alias_version(client, "freight_volume", CHAMPION) == first
    assert alias_version(client, "freight_volume", CANDIDATE) == second
    tags = client.get_model_version("freight_volume", second).tags
    assert (tags["conveyor.release.strategy"], tags["conveyor.release.share"]) == ("canary", "0.25")


def test_a_forced_promotion_skips_the_canary_and_a_blocked_one_moves_nothing(platform, canary, tmp_path):
    client = mlflow_client(platform)
    first = gated(client, platform, tmp_path / "a", promote=True, against=None)
    promote_model(platform, canary, client, first)
    blocked = gated(client, platform, tmp_path / "b", promote=False, against=first)

    with pytest.raises(GateBlockedError, match="--force --requested-by NAME --reason WHY"):
        promote_model(platform, canary, client, blocked)
    assert alias_version(client, "freight_volume", CANDIDATE) is None

    promote_model(platform, canary, client, blocked, forced_by="ops@example.com", forced_reason="hotfix")
    assert alias_version(client, "freight_volume", CHAMPION) == blocked, "the person forcing it decided"
    assert alias_version(client, "freight_volume", CANDIDATE) is None
