"""Gate, register, promote: the steps that decide which model version is in production."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pipelines.errors import ConfigError, GateBlockedError
from pipelines.release.registry import AliasMove, move_candidate, move_champion
from pipelines.training.lineage import TAG, from_tags

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig

log = logging.getLogger("conveyor.promotion")


def promote_model(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    version: str,
    *,
    forced_by: str | None = None,
    forced_reason: str | None = None,
) -> AliasMove:
    """Release ``version`` if its gate said so: as the champion at once under the ``direct``
    release strategy, else as the ``candidate`` that meets a share of live traffic (canary)
    or scores beside the champion (shadow) until ``conveyor release judge`` decides from
    live results. A first deploy has no champion to compare with live, so it is always
    direct, and so is a forced promotion (with who and why): the person forcing it has
    decided already, as they would with ``conveyor release decide --promote``.

    Compare-and-set: fails with PromotionConflictError if the champion is no longer the
    version the gate compared against. Raises GateBlockedError for a blocked version.
    """
    if (forced_by is None) != (forced_reason is None):
        raise ConfigError("a forced promotion needs both --requested-by and --reason")
    fields = from_tags(dict(client.get_model_version(config.name, version).tags))
    if fields.get("gate.promote") != "true":
        if forced_by is None:
            raise GateBlockedError(
                f"{config.name} version {version} did not pass its gates"
                f" ({fields.get('gate.summary', 'no gate')});"
                " to promote it anyway use --force --requested-by NAME --reason WHY"
            )
        client.set_model_version_tag(config.name, version, f"{TAG}forced_by", forced_by)
        client.set_model_version_tag(config.name, version, f"{TAG}forced_reason", forced_reason or "")
        log.warning(
            "%s version %s: forced promotion by %s: %s",
            config.name,
            version,
            forced_by,
            forced_reason,
        )
    expected = fields.get("gate.champion_version") or None
    release = config.release
    if release.strategy == "direct" or expected is None or forced_by is not None:
        return move_champion(client, platform, config.name, version, expected_champion=expected)
    return move_candidate(client, platform, config.name, version, expected_champion=expected,
                          strategy=release.strategy, share=release.share)  # fmt: skip
