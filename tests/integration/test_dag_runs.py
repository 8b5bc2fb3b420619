"""The DAGs run for real with ``dag.test()``: every task a real ``conveyor`` subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.features.datasets import publish_dataset
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


def test_cleanup_dag_deletes_what_nothing_refers_to_and_waits_while_a_training_is_in_flight(
    airflow_env, model_home
):
    lakehouse = Lakehouse(load_platform_config().lakehouse_uri)

    def dataset(days: int, hours_old: float) -> Path:
        stamps = pd.date_range("2024-03-01", periods=days, freq="D", tz="UTC")
        ref = publish_dataset(lakehouse, "freight_volume", "train", pd.DataFrame({"event_timestamp": stamps}))
        written = time.time() - hours_old * 3600
        os.utime(ref.uri, (written, written))
        return Path(ref.uri)

    old, new = dataset(3, hours_old=3), dataset(4, hours_old=0)
    done = run_dag(airflow_env, "freight_volume__cleanup", "2024-05-01")
    assert done["tasks"] == {"no_training_in_flight": "success", "cleanup_datasets": "success"}, done
    assert not old.exists() and new.exists(), "an hour-old unreferenced set goes, a new one stays"

    airflow = [str(Path(sys.executable).parent / "airflow"), "dags"]
    subprocess.run([*airflow, "reserialize"], env=airflow_env, check=True, capture_output=True)
    subprocess.run(
        [*airflow, "trigger", "freight_volume__train"], env=airflow_env, check=True, capture_output=True
    )
    old = dataset(5, hours_old=3)
    waited = run_dag(airflow_env, "freight_volume__cleanup", "2024-05-08")
    assert waited["tasks"] == {"no_training_in_flight": "skipped", "cleanup_datasets": "skipped"}, waited
    assert old.exists(), "a queued training may need it"
