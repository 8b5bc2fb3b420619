"""The model half end to end: features -> datasets -> train -> evaluate -> gate -> register
-> promote, on real Feast, MLflow and torch, and what decides which version is champion."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.errors import GateBlockedError, PromotionConflictError
from pipelines.features.datasets import build_datasets
from pipelines.features.store import apply_features, feature_store
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.cycle import retrain_from_lineage, run_training_cycle
from pipelines.release.gate import gate_model
from pipelines.release.promote import promote_model
from pipelines.release.register import register_model
from pipelines.release.registry import CHALLENGER, CHAMPION, alias_version, read_lineage
from pipelines.release.rollback import rollback_champion
from pipelines.training.evaluate import evaluate_model
from pipelines.training.lineage import LINEAGE_FIELDS
from pipelines.training.tracking import mlflow_client
from pipelines.training.train import train_model

AS_OF = date(2024, 4, 30)  # the prepared lakehouse's last logical date


@pytest.fixture
def env(model_home):
    platform = load_platform_config()
    # A version that passes its gates becomes the champion at once here; a canary's life
    # from gate to live decision is test_release_lifecycle.py's.
    config = load_model_config("freight_volume")
    direct = config.model_copy(update={"release": config.release.model_copy(update={"strategy": "direct"})})
    return (
        platform,
        direct,
        Lakehouse(platform.lakehouse_uri),
        mlflow_client(platform),
    )


def cycle(env, epochs: int, reason: str = "manual"):
    platform, config, lakehouse, client = env
    return run_training_cycle(
        platform, config, lakehouse, client, as_of=AS_OF, trigger_reason=reason, overrides={"epochs": epochs}
    )


def test_a_first_model_becomes_champion_with_every_lineage_field(env, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CTX_DAG_RUN_ID", "manual__2024-04-30T00:00:00")
    platform, _, lakehouse, client = env
    result = cycle(env, epochs=8, reason="manual")

    assert result.decision.kind == "first_deploy" and result.decision.promote
    assert alias_version(client, "freight_volume", CHAMPION) == result.version == "1"
    record = read_lineage(client, "freight_volume@champion")
    empty = [field for field in LINEAGE_FIELDS if not record["lineage"][field]]
    assert empty == [], f"lineage fields left empty: {empty}"
    assert record["lineage"]["trigger_reason"] == "manual"
    assert record["lineage"]["dag_run_id"] == "manual__2024-04-30T00:00:00"
    assert len(record["lineage"]["git_commit"]) == 40
    assert record["lineage"]["train_dataset_uri"].endswith(".parquet")
    assert record["lineage"]["validation_results"].startswith("120 results")
    assert record["gate"]["summary"] == "all checks passed"
    assert {"rmse", "mae", "mape"} <= set(record["metrics"])
    assert any(k.startswith("slice.region.") for k in record["slice_metrics"])

    reproduced = retrain_from_lineage(platform, client, lakehouse, "freight_volume@1")
    assert reproduced.run_id != result.run_id
    assert reproduced.matches, (reproduced.original, reproduced.reproduced)


def test_worse_is_kept_out_better_goes_in_rollback_restores_and_force_is_recorded(env):
    platform, config, _, client = env
    first = cycle(env, epochs=2)
    assert first.promotion is not None and first.version == "1"

    worse = cycle(env, epochs=1)
    assert not worse.decision.promote and worse.promotion is None
    assert "beats_champion" in worse.decision.summary
    assert alias_version(client, "freight_volume", CHAMPION) == "1"
    assert alias_version(client, "freight_volume", CHALLENGER) == worse.version == "2"

    better = cycle(env, epochs=8)
    assert better.decision.promote, better.decision.checks
    assert better.metrics["rmse"] < first.metrics["rmse"]
    assert alias_version(client, "freight_volume", CHAMPION) == "3"

    rollback_champion(client, platform, "freight_volume", "1")
    assert alias_version(client, "freight_volume", CHAMPION) == "1"
    assert client.get_model_version("freight_volume", "1").tags["conveyor.rolled_back_from"] == "3"

    with pytest.raises(GateBlockedError, match="did not pass its gates"):
        promote_model(platform, config, client, "2")
    promote_model(platform, config, client, "2", forced_by="ops@example.com", forced_reason="drill")
    tags = client.get_model_version("freight_volume", "2").tags
    assert alias_version(client, "freight_volume", CHAMPION) == "2"
    assert (tags["conveyor.forced_by"], tags["conveyor.forced_reason"]) == ("ops@example.com", "drill")


def test_a_concurrent_promotion_loses_the_race_cleanly(env):
    platform, config, lakehouse, client = env
    dry_run = config.model_copy(update={"gates": config.gates.model_copy(update={"mode": "dry_run"})})
    cycle(env, epochs=2)
    store = feature_store(platform)
    apply_features(store, dry_run, lakehouse)
    train_ref, test_ref = build_datasets(lakehouse, store, dry_run, AS_OF)
    versions = []
    for epochs in (6, 8):  # two challengers, both evaluated against champion 1
        run_id = train_model(
            platform,
            dry_run,
            client,
            lakehouse,
            train_uri=train_ref.uri,
            test_uri=test_ref.uri,
            as_of=AS_OF,
            trigger_reason="manual",
            overrides={"epochs": epochs},
        )
        evaluate_model(platform, dry_run, client, lakehouse, run_id)
        assert gate_model(platform, dry_run, client, run_id).champion_version == "1"
        versions.append(register_model(platform, dry_run, client, run_id))

    promote_model(platform, dry_run, client, versions[0])
    with pytest.raises(
        PromotionConflictError, match="champion is version 2, but version 3 was evaluated against 1"
    ):
        promote_model(platform, dry_run, client, versions[1])
    assert alias_version(client, "freight_volume", CHAMPION) == versions[0]
