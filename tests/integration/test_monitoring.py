"""The monitoring loop: quiet on clean data, drift on a new region, poor performance on a
change of scale, and the monitor DAG starting one retrain with the reason recorded."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines.config.load import config_dir, load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.airflow import run_dag
from pipelines.local.backfill import process_landed_days
from pipelines.monitor.actuals import ingest_actuals
from pipelines.monitor.drift import check_drift
from pipelines.monitor.performance import check_performance
from pipelines.samples.generate import generate_batches
from pipelines.serving.log import PredictionLog
from pipelines.training.tracking import mlflow_client
from tests.conftest import TRAINED_AS_OF
from tests.integration.conftest import serve_traffic

START = date(2024, 1, 1)
SHIFT_START, CHECK_DAY = date(2024, 5, 5), date(2024, 5, 12)


@pytest.fixture
def model_home(served_home: Path) -> Path:
    return served_home


def arrive(shift: str | None) -> tuple:
    """The batches after training arrive, from May 1 to the check day, and the service
    answers the requests for the days they feed: up to a week past the check day."""
    platform, config = load_platform_config(), load_model_config("freight_volume")
    lakehouse = Lakehouse(platform.lakehouse_uri)
    days = generate_batches(platform, config, start=START, days=(CHECK_DAY - START).days,
                            shift=shift, shift_start=SHIFT_START if shift else None)  # fmt: skip
    process_landed_days(platform, config, lakehouse, [d for d in days if d > TRAINED_AS_OF])
    serve_traffic(TRAINED_AS_OF + timedelta(days=1), CHECK_DAY + timedelta(days=config.features.horizon_days))
    return platform, config, lakehouse, mlflow_client(platform)


@pytest.mark.parametrize(
    ("shift", "performance_breached", "drift_breached"),
    [(None, False, False), ("new_region", False, True), ("scale", True, False)],
)
def test_each_check_fires_on_its_kind_of_change_and_stays_quiet_otherwise(
    model_home, shift, performance_breached, drift_breached
):
    platform, config, lakehouse, client = arrive(shift)
    prediction_log = PredictionLog(platform.serving.prediction_log_url)
    loaded = ingest_actuals(prediction_log, lakehouse, config, CHECK_DAY)
    assert loaded.rows > 0 and loaded.last_day < str(CHECK_DAY)  # actuals come days late
    performance = check_performance(platform, config, client, CHECK_DAY)
    drift = check_drift(platform, config, lakehouse, client, CHECK_DAY)
    assert performance.rows > 0 and performance.breached is performance_breached, performance.to_dict()
    assert set(performance.details["slices"]["region"]) >= {"north", "south", "east", "west"}
    assert drift.details["source"] == "served" and drift.rows > 0
    assert drift.breached is drift_breached, drift.to_dict()
    if shift == "new_region":
        assert {"region", "origin"} <= set(drift.details["drifted_columns"])
    assert Path(drift.report_uri).read_text().lstrip().lower().startswith("<!doctype html")
    assert Path(drift.report_uri.replace(".html", ".json")).exists()


@pytest.mark.parametrize(
    ("shift", "fired"),
    [("new_region", "data_shift"), ("scale", "performance"), (None, None)],
)
def test_the_monitor_dag_retrains_once_on_what_it_sees_and_stays_quiet_otherwise(
    model_home, airflow_env, shift, fired
):
    arrive(shift)
    first = run_dag(airflow_env, "freight_volume__monitor", CHECK_DAY.isoformat())
    for kind, sensor in (("performance", "check_performance"), ("data_shift", "check_drift")):
        expected = "success" if kind == fired else "skipped"
        assert first["tasks"][sensor] == expected, first
        assert first["tasks"][f"retrain_on_{kind}"] == expected, first
    assert first["tasks"]["check_config"] == first["tasks"]["retrain_on_config_changed"] == "skipped"
    triggered = [(r["run_id"], r["conf"]) for r in first["others"] if r["dag_id"] == "freight_volume__train"]
    if fired is None:
        assert triggered == []
        return
    assert triggered == [(f"{fired}__{CHECK_DAY}", {"reason": fired.replace("_", " ")})]

    again = run_dag(airflow_env, "freight_volume__monitor", CHECK_DAY.isoformat())
    assert again["tasks"][f"retrain_on_{fired}"] == "skipped", "the same breach on the same day retrains once"
    assert len([r for r in again["others"] if r["dag_id"] == "freight_volume__train"]) == 1


def test_a_merged_config_change_starts_one_training_and_says_what_changed(model_home, airflow_env, tmp_path):
    """The config file a new commit brings (here a copy of configs/ with fewer epochs):
    the monitor's check_config starts one training with the reason `config changed`."""
    arrive(None)
    changed = tmp_path / "configs"
    shutil.copytree(config_dir(), changed)
    model_file = changed / "models" / "freight_volume.yaml"
    model_file.write_text(model_file.read_text().replace("epochs: 8 ", "epochs: 6 ", 1))
    env = {**airflow_env, "CONVEYOR_CONFIG_DIR": str(changed)}

    first = run_dag(env, "freight_volume__monitor", CHECK_DAY.isoformat())
    assert first["tasks"]["check_config"] == first["tasks"]["retrain_on_config_changed"] == "success", first
    triggered = [(r["run_id"], r["conf"]) for r in first["others"] if r["dag_id"] == "freight_volume__train"]
    assert triggered == [(f"config_changed__{CHECK_DAY}", {"reason": "config changed"})]
    report = json.loads((model_home / "reports" / "freight_volume" / f"config-{CHECK_DAY}.json").read_text())
    assert "-    epochs: 8\n" in report["diff"] and "+    epochs: 6\n" in report["diff"], report["diff"]

    again = run_dag(env, "freight_volume__monitor", CHECK_DAY.isoformat())
    assert again["tasks"]["retrain_on_config_changed"] == "skipped", "one training per change and day"
    assert len([r for r in again["others"] if r["dag_id"] == "freight_volume__train"]) == 1
