"""pipelines.release.registry: the versions file the rollback form reads, kept as versions are
registered and the champion moves."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.config.platform import PlatformConfig
from pipelines.release.registry import move_champion, register_version, versions_file
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
    assert json.loads(listed.read_text()) == {"versions": ["1"], "champion": None}
    move_champion(client, platform, "freight_volume", first, expected_champion=None)
    assert json.loads(listed.read_text()) == {"versions": ["1"], "champion": "1"}

    second = register(client, platform, "freight_volume", tmp_path / "two")
    assert json.loads(listed.read_text()) == {"versions": ["1", "2"], "champion": "1"}, "a challenger too"
    move_champion(client, platform, "freight_volume", second, expected_champion=first)
    assert json.loads(listed.read_text()) == {"versions": ["1", "2"], "champion": "2"}

    rollback_champion(client, platform, "freight_volume", first)
    assert json.loads(listed.read_text()) == {"versions": ["1", "2"], "champion": "1"}
