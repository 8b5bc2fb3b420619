"""The check_config step: deploy on a merged config change.

A model is its config file. When the file in the repository no longer hashes to what the
champion was trained from (its ``config_source_hash``: the file before the run's
overrides, so a champion trained with a form's overrides does not count as a change),
and no training has used the new file yet, the model should be retrained: the monitor
DAG starts the train DAG with the reason ``config changed``; its gate records the diff.
A change that was trained once and kept out by the gates is not retrained again; the next
change is.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import fsspec

from pipelines.monitor.checks import champion_of
from pipelines.release.config_diff import diff_from_champion
from pipelines.training.lineage import TAG, config_hash, config_snapshot

if TYPE_CHECKING:
    from datetime import date

    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig

log = logging.getLogger("conveyor.monitor")
CONFIG_CHANGED = "config changed"


@dataclass(frozen=True)
class ConfigCheck:
    """The check's result, in the shape the monitor DAG's sensors read (``value``: lines
    that differ from the champion's config; ``should_retrain``: start a training)."""

    model: str
    as_of: str
    champion_version: str
    champion_hash: str
    current_hash: str
    trained_run_id: str | None  # a training that already used the current file
    diff: str
    report_uri: str
    check: str = "config"
    threshold: float = 0.0
    rows: int = 0

    @property
    def value(self) -> float:
        changed = [line for line in self.diff.splitlines() if line.startswith(("+", "-"))]
        return float(len([line for line in changed if not line.startswith(("+++", "---"))]))

    @property
    def breached(self) -> bool:
        return self.current_hash != self.champion_hash

    @property
    def should_retrain(self) -> bool:
        return self.breached and self.trained_run_id is None

    @property
    def why(self) -> str:
        if not self.breached:
            return f"the champion was trained from this config ({self.current_hash[:8]})"
        if self.trained_run_id:
            return f"changed, and run {self.trained_run_id} already trained it; the gates decided"
        return f"changed since the champion ({self.champion_hash[:8]} -> {self.current_hash[:8]})"

    def to_dict(self) -> dict[str, Any]:
        fields = ("value", "breached", "should_retrain", "why")
        return {**asdict(self), **{name: getattr(self, name) for name in fields}, "cooldown_active": False}


def trained_with(client: MlflowClient, model: str, source_hash: str) -> str | None:
    """A finished training run of ``model`` from the config file that hashes to ``source_hash``."""
    experiment = client.get_experiment_by_name(model)
    if experiment is None:
        return None
    found = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.`{TAG}config_source_hash` = '{source_hash}' and attributes.status = 'FINISHED'",
        max_results=1,
    )
    return found[0].info.run_id if found else None


def check_config(
    platform: PlatformConfig, config: ModelConfig, client: MlflowClient, as_of: date
) -> ConfigCheck:
    """Compare the model's config file with the one its champion was trained from; writes
    ``reports/<model>/config-<day>.json`` with the diff."""
    version, fields, _ = champion_of(client, config)
    current = config_hash(config)
    # Versions trained before config_source_hash was recorded: the hash of what they used.
    champion_hash = fields.get("config_source_hash") or fields.get("config_hash", "")
    diff, trained = "", None
    if current != champion_hash:
        label = f"configs/models/{config.name}.yaml ({current[:8]})"
        diff = diff_from_champion(client, config.name, version, config_snapshot(config), label)
        trained = trained_with(client, config.name, current)
    result = ConfigCheck(
        model=config.name, as_of=as_of.isoformat(), champion_version=version, champion_hash=champion_hash,
        current_hash=current, trained_run_id=trained, diff=diff,
        report_uri=f"{platform.reports_uri}/{config.name}/config-{as_of}.json",
    )  # fmt: skip
    with fsspec.open(result.report_uri, "w", auto_mkdir=True) as out:
        out.write(json.dumps(result.to_dict(), indent=2))
    log.info("%s config as of %s: %s", config.name, as_of, result.why)
    return result
