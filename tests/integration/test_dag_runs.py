"""The DAGs run for real with ``dag.test()``: every task a real ``conveyor`` subprocess."""

from __future__ import annotations

from datetime import date

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse, PartitionKey
from pipelines.local.airflow import run_dag
from pipelines.release.registry import CHAMPION, alias_version, read_lineage
from pipelines.samples.generate import generate_batches
from pipelines.training.tracking import mlflow_client


def test_ingest_dag_takes_a_day_to_feast_and_stops_a_bad_batch_without_retrying(airflow_env, model_home):
    platform, config = load_platform_config(), load_model_config("freight_volume")
    generate_batches(platform, config, start=date(2024, 1, 1), days=122,
                     corrupt="duplicate_keys", corrupt_date=date(2024, 5, 2))  # fmt: skip
    lakehouse = Lakehouse(platform.lakehouse_uri)

    good = run_dag(airflow_env, "freight_volume__ingest", "2024-05-01")
    assert good["state"] == "success", good
    assert lakehouse.manifest(PartitionKey("gold", "freight", date(2024, 5, 1))) is not None

    bad = run_dag(airflow_env, "freight_volume__ingest", "2024-05-02")
    assert bad["state"] == "failed"
    assert bad["tasks"]["validate_batch"] == "failed" and bad["tries"]["validate_batch"] == 1
    assert bad["tasks"]["build_gold"] == "upstream_failed"
    assert lakehouse.logical_dates("quarantine", "freight") == [date(2024, 5, 2)]
    assert lakehouse.manifest(PartitionKey("gold", "freight", date(2024, 5, 2))) is None


def test_train_dag_makes_a_champion_and_records_why_it_ran(airflow_env, model_home):
    outcome = run_dag(
        airflow_env, "freight_volume__train", "2024-04-30",
        {"reason": "alert: FreightErrorHigh", "overrides": {"epochs": 8}},
    )  # fmt: skip
    assert outcome["state"] == "success", outcome
    assert outcome["tasks"]["promote_model"] == "success"
    assert outcome["tasks"]["keep_champion"] == "skipped"
    client = mlflow_client(load_platform_config())
    assert alias_version(client, "freight_volume", CHAMPION) == "1"
    record = read_lineage(client, "freight_volume@champion")["lineage"]
    assert record["trigger_reason"] == "alert: FreightErrorHigh"
    assert record["dag_run_id"] == outcome["run_id"]
