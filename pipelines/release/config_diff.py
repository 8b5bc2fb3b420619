"""What changed in a model's config since its champion: the diff a `config changed` check
and a gate report show."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.training.lineage import config_diff, from_tags
from pipelines.training.train import CONFIG_ARTIFACT

if TYPE_CHECKING:
    from mlflow import MlflowClient

CONFIG_DIFF_ARTIFACT = "config_diff.patch"


def logged_config(client: MlflowClient, run_id: str) -> str:
    """The config snapshot a training run logged (overrides applied)."""
    return Path(client.download_artifacts(run_id, CONFIG_ARTIFACT, tempfile.mkdtemp())).read_text()


def diff_from_champion(client: MlflowClient, model: str, champion: str, snapshot: str, label: str) -> str:
    """A unified diff from the config champion version ``champion`` was trained with to
    ``snapshot`` (named ``label``); empty when they are the same."""
    found = client.get_model_version(model, champion)
    was = f"{model}@{champion} ({from_tags(dict(found.tags)).get('config_hash', '')[:8]})"
    return config_diff(logged_config(client, str(found.run_id)), snapshot, was, label)
