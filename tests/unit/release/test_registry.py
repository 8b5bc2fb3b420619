"""pipelines.release.registry: the versions file the rollback form reads, kept as versions are
registered and the champion moves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.config.platform import PlatformConfig
from pipelines.errors import PromotionConflictError
from pipelines.release.registry import (
    CANDIDATE,
    CHAMPION,
    alias_version,
    end_candidate,
    move_candidate,
    move_champion,
    register_version,
    versions_file,
)
from pipelines.release.rollback import rollback_champion
from pipelines.training.tracking import mlflow_client


def register(client, platform: PlatformConfig, model: str, source: Path) -> str:
    source.mkdir(exist_ok=True)
    run_id = client.create_run(client.create_experiment(source.name)).info.run_id
    return register_version(client, platform, model, str(source), run_id, {})


def test_each_registration_and_champion_move_rewrites_the_versions_and_the_champion(
    platform: PlatformConfig, tmp_path
):
    client = mlflow_client(platform)
    listed = versions_file(Path(platform.home), "freight_volume")

    first = register(client, platform, "freight_volume", tmp_path / "one")
    assert json.loads(listed.read_text()) == {"versions": ["1"], "champion": None, "candidate": None}
    move_champion(client, platform, "freight_volume", first, expected_champion=None)
    assert json.loads(listed.read_text()) == {"versions": ["1"], "champion": "1", "candidate": None}

    second = register(client, platform, "freight_volume", tmp_path / "two")
    assert json.loads(listed.read_text()) == {"versions": ["1", "2"], "champion": "1", "candidate": None}, (
        "a challenger too"
    )
    move_champion(client, platform, "freight_volume", second, expected_champion=first)
    assert json.loads(listed.read_text()) == {"versions": ["1", "2"], "champion": "2", "candidate": None}

    rollback_champion(client, platform, "freight_volume", first)
    assert json.loads(listed.read_text()) == {"versions": ["1", "2"], "champion": "1", "candidate": None}


def test_compare_and_set_refuses_a_promotion_judged_against_an_outdated_champion(platform, tmp_path):
    client = mlflow_client(platform)
    first, second, third = (
        register(client, platform, "freight_volume", tmp_path / n) for n in ("a", "b", "c")
    )
    move_champion(client, platform, "freight_volume", first, expected_champion=None)
    move_champion(client, platform, "freight_volume", second, expected_champion=first)
    # The third was gated against version 1; the champion moved to 2 meanwhile.
    for move in (move_champion, move_candidate):
        extra = {"strategy": "canary"} if move is move_candidate else {}
        with pytest.raises(
            PromotionConflictError, match="champion is version 2, but version 3 was evaluated against 1"
        ):
            move(client, platform, "freight_volume", third, expected_champion=first, **extra)
        assert alias_version(client, "freight_volume", CHAMPION) == second
        assert alias_version(client, "freight_volume", CANDIDATE) is None


def test_a_candidate_serves_beside_the_champion_until_promoted_or_rolled_back(platform, tmp_path):
    client = mlflow_client(platform)
    listed = versions_file(Path(platform.home), "freight_volume")
    first, second, third = (
        register(client, platform, "freight_volume", tmp_path / n) for n in ("a", "b", "c")
    )
    move_champion(client, platform, "freight_volume", first, expected_champion=None)

    move_candidate(client, platform, "freight_volume", second, expected_champion=first, strategy="canary")
    assert json.loads(listed.read_text()) == {"versions": ["1", "2", "3"], "champion": "1", "candidate": "2"}
    # A newer candidate replaces it; the replaced one says so.
    move_candidate(client, platform, "freight_volume", third, expected_champion=first, strategy="shadow")
    tags = client.get_model_version("freight_volume", second).tags
    assert tags["conveyor.release.decision"] == "superseded"
    assert (
        end_candidate(client, platform, "freight_volume", second, decision="rolled back", reason="x") is None
    )

    end_candidate(
        client, platform, "freight_volume", third, decision="rolled back", reason="p99 above 250 ms"
    )
    assert alias_version(client, "freight_volume", CANDIDATE) is None
    assert alias_version(client, "freight_volume", CHAMPION) == first, "a rollback leaves the champion alone"
    tags = client.get_model_version("freight_volume", third).tags
    assert (tags["conveyor.release.decision"], tags["conveyor.release.reason"]) == (
        "rolled back",
        "p99 above 250 ms",
    )

    move_candidate(client, platform, "freight_volume", second, expected_champion=first, strategy="canary")
    move_champion(client, platform, "freight_volume", second, expected_champion=first, action="canary passed")
    assert json.loads(listed.read_text()) == {"versions": ["1", "2", "3"], "champion": "2", "candidate": None}
    history = (Path(platform.home) / "reports" / "freight_volume" / "champion-history.jsonl").read_text()
    assert '"action": "canary passed", "version": "2", "previous": "1"' in history
