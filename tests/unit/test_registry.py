"""pipelines.registry: the versions file the rollback form reads, kept as the champion moves."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.config import PlatformConfig
from pipelines.registry import mlflow_client, promote, rollback, versions_file


def register(client, model: str, source: Path) -> str:
    source.mkdir(exist_ok=True)
    return str(client.create_model_version(model, str(source)).version)


def test_each_champion_move_rewrites_the_versions_and_the_champion(platform: PlatformConfig, tmp_path):
    client = mlflow_client(platform)
    client.create_registered_model("freight_volume")
    listed = versions_file(Path(platform.home), "freight_volume")

    first = register(client, "freight_volume", tmp_path / "one")
    promote(client, platform, "freight_volume", first, expected_champion=None)
    assert json.loads(listed.read_text()) == {"versions": ["1"], "champion": "1"}

    second = register(client, "freight_volume", tmp_path / "two")
    assert json.loads(listed.read_text())["versions"] == ["1"], "it follows champion moves, not registrations"
    promote(client, platform, "freight_volume", second, expected_champion=first)
    assert json.loads(listed.read_text()) == {"versions": ["1", "2"], "champion": "2"}

    rollback(client, platform, "freight_volume", first)
    assert json.loads(listed.read_text()) == {"versions": ["1", "2"], "champion": "1"}
