"""One training cycle, in process: what the train DAG runs step by step, for the demo and
tests. Also reproduction of a registered version from its lineage."""

from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.features.datasets import build_datasets
from pipelines.features.store import apply_features, feature_store, materialize_features, materialize_window
from pipelines.release.gate import GateDecision, gate_model
from pipelines.release.promote import promote_model
from pipelines.release.register import register_model
from pipelines.release.registry import AliasMove, resolve_reference
from pipelines.training.evaluate import evaluate_model
from pipelines.training.lineage import from_tags
from pipelines.training.train import CONFIG_ARTIFACT, train_model
from pipelines.ui.card import refresh_cards

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig
    from pipelines.lakehouse.storage import Lakehouse

log = logging.getLogger("conveyor.cycle")


@dataclass(frozen=True)
class CycleResult:
    run_id: str
    version: str
    decision: GateDecision
    metrics: dict[str, float]
    promotion: AliasMove | None


def run_training_cycle(
    platform: PlatformConfig,
    config: ModelConfig,
    lakehouse: Lakehouse,
    client: MlflowClient,
    *,
    as_of: date,
    trigger_reason: str,
    overrides: dict[str, Any] | None = None,
    tune: bool = False,
) -> CycleResult:
    """features -> datasets -> [tune] -> train -> evaluate -> gate -> register -> promote (if
    the gate says so). ``tune``: the config's tuning stage first, in this process."""
    store = feature_store(platform)
    apply_features(store, config, lakehouse)
    # Target days as_of - 1 .. as_of + horizon: the gold partitions of the last horizon + 2 days.
    first_gold_day = as_of - timedelta(days=config.features.horizon_days + 1)
    materialize_features(store, config, *materialize_window(config, first_gold_day, as_of))
    train_ref, test_ref = build_datasets(lakehouse, store, config, as_of)
    tuning = None
    if tune:
        from pipelines.training.tune import tune_in_process

        name = f"in_process__{as_of.isoformat()}__{uuid.uuid4().hex[:8]}"  # one study a cycle
        tuning = tune_in_process(platform, config, client, train_uri=train_ref.uri, run_name=name)
    run_id = train_model(
        platform,
        config,
        client,
        lakehouse,
        train_uri=train_ref.uri,
        test_uri=test_ref.uri,
        as_of=as_of,
        trigger_reason=trigger_reason,
        overrides=overrides,
        tuning=tuning,
    )
    evaluated = evaluate_model(platform, config, client, lakehouse, run_id)
    decision = gate_model(platform, config, client, run_id)
    version = register_model(platform, config, client, run_id)
    moved = promote_model(platform, config, client, version) if decision.promote else None
    refresh_cards(platform, config, client, version, moved.previous if moved else None)
    return CycleResult(run_id, version, decision, evaluated.evaluation.overall, moved)


@dataclass(frozen=True)
class Reproduction:
    reference: str
    original_run_id: str
    run_id: str
    original: dict[str, float]
    reproduced: dict[str, float]

    @property
    def matches(self) -> bool:
        return all(self.reproduced.get(k) == v for k, v in self.original.items())


def retrain_from_lineage(
    platform: PlatformConfig, client: MlflowClient, lakehouse: Lakehouse, reference: str
) -> Reproduction:
    """Train again from a version's recorded config, datasets and seed, from scratch, and
    compare its test metrics with the recorded ones."""
    import yaml

    from pipelines.config.load import parse_model_config

    name, version = resolve_reference(client, reference)
    found = client.get_model_version(name, version)
    original_run_id = str(found.run_id)
    fields = from_tags(dict(found.tags))
    snapshot = client.download_artifacts(original_run_id, CONFIG_ARTIFACT, tempfile.mkdtemp())
    config = parse_model_config(yaml.safe_load(Path(snapshot).read_text()), Path(f"{name}.yaml"))
    with tempfile.TemporaryDirectory() as fresh_checkpoints:
        run_id = train_model(
            platform,
            config,
            client,
            lakehouse,
            train_uri=fields["train_dataset_uri"],
            test_uri=fields["test_dataset_uri"],
            as_of=date.fromisoformat(fields["as_of"]),
            trigger_reason=f"reproduce {name}@{version}",
            checkpoints=Path(fresh_checkpoints),
        )
    reproduced = evaluate_model(platform, config, client, lakehouse, run_id).evaluation.overall
    original_metrics = client.get_run(original_run_id).data.metrics
    original = {k: original_metrics[k] for k in reproduced if k in original_metrics}
    return Reproduction(f"{name}@{version}", original_run_id, run_id, original, reproduced)
