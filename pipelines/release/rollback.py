"""The rollback_champion step: point champion back at an earlier registered version."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pipelines.errors import MissingInputError
from pipelines.release.registry import (
    CHAMPION,
    AliasMove,
    alias_lock,
    alias_version,
    record_champion_move,
    record_versions,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.platform import PlatformConfig

log = logging.getLogger("conveyor.rollback")


def rollback_champion(client: MlflowClient, platform: PlatformConfig, model: str, version: str) -> AliasMove:
    """Point ``champion`` at an earlier registered version."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_model_version(model, version)
    except MlflowException:
        raise MissingInputError(
            f"{model} has no version {version}; see `conveyor lineage {model}@champion`"
        ) from None
    with alias_lock(platform, model):
        current = alias_version(client, model, CHAMPION)
        if current == version:  # idempotent: a retried rollback that already happened succeeds
            log.info("%s: version %s is already the champion", model, version)
            return AliasMove(model, CHAMPION, version, current)
        client.set_registered_model_alias(model, CHAMPION, version)
        client.set_model_version_tag(model, version, "conveyor.rolled_back_from", str(current))
        move = AliasMove(model, CHAMPION, version, current)
        record_champion_move(platform, move, "rollback")
        record_versions(client, platform, model)
    log.info("%s: rolled back champion %s -> %s", model, current, version)
    return move
