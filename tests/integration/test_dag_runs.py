"""The DAGs run for real with ``dag.test()``: every task a real ``conveyor`` subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import yaml

from pipelines.config.load import REPO_ROOT, load_model_config, load_platform_config
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
    assert (outcome["tasks"]["skip_tuning"], outcome["tasks"]["create_study"]) == ("success", "skipped"), (
        "the config's tuning is off by default"
    )
    client = mlflow_client(load_platform_config())
    assert alias_version(client, "freight_volume", CHAMPION) == "1"
    record = read_lineage(client, "freight_volume@champion")["lineage"]
    assert record["trigger_reason"] == "alert: FreightErrorHigh"
    assert record["dag_run_id"] == outcome["run_id"]
    assert record["tuning"] == "none"


def test_the_forms_tune_switch_runs_the_trials_as_a_mapped_task_and_trains_with_the_best(
    airflow_env, model_home, tmp_path
):
    configs = tmp_path / "configs"
    shutil.copytree(REPO_ROOT / "configs", configs)
    model_file = configs / "models" / "freight_volume.yaml"
    raw = yaml.safe_load(model_file.read_text())
    raw["tuning"].update(trials=2, startup_trials=2)  # small: the mapping is the point here
    model_file.write_text(yaml.safe_dump(raw))
    env = {**airflow_env, "CONVEYOR_CONFIG_DIR": str(configs)}

    outcome = run_dag(env, "freight_volume__train", "2024-04-30", {"tune": True})

    assert outcome["state"] == "success", outcome
    assert outcome["tasks"]["skip_tuning"] == "skipped"
    assert outcome["mapped"]["tune_trial"] == {"0": "success", "1": "success", "2": "success"}, outcome
    client = mlflow_client(load_platform_config())
    record = read_lineage(client, "freight_volume@champion")["lineage"]
    tuning = json.loads(record["tuning"])
    assert tuning["study"] == f"freight_volume__{outcome['run_id']}"
    assert tuning["baseline_value"] > 0 and sum(tuning["trials"].values()) == 2
    params = client.get_run(record["training_run_id"]).data.params
    assert all(yaml.safe_load(params[f"param.{k}"]) == v for k, v in tuning["params"].items())


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
