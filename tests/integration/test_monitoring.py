"""The monitoring loop: quiet on clean data, drift on a new region, poor performance on a
change of scale, and the monitor DAG starting one retrain with the reason recorded."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import yaml

from pipelines.config.load import config_dir, load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.airflow import run_dag
from pipelines.local.backfill import process_landed_days
from pipelines.monitor.actuals import ingest_actuals
from pipelines.monitor.performance import check_performance
from pipelines.samples.generate import generate_batches
from pipelines.serving.log import PredictionLog
from pipelines.training.tracking import mlflow_client
from tests.conftest import TRAINED_AS_OF
from tests.integration.conftest import serve_traffic
from tests.support import airflow_api_server, free_port, wait_for

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules.yml"


def airflow_token(url: str, login: tuple[str, str, str]) -> str:
    user, _, password = login
    return httpx.post(f"{url}/auth/token", json={"username": user, "password": password}).json()[
        "access_token"
    ]


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


def check_summary(platform, check: str) -> dict:
    """What a monitor check wrote beside its report for the check day."""
    report = Path(platform.reports_uri) / "freight_volume" / f"{check}-{CHECK_DAY}.html"
    return {**json.loads(report.with_suffix(".json").read_text()), "report": report}


@pytest.mark.parametrize(
    ("shift", "fired"),
    [("new_region", "data_shift"), ("scale", "performance"), (None, None)],
)
def test_the_monitor_dag_retrains_once_on_what_it_sees_and_stays_quiet_otherwise(
    model_home, airflow_env, shift, fired
):
    platform = arrive(shift)[0]
    first = run_dag(airflow_env, "freight_volume__monitor", CHECK_DAY.isoformat())
    for kind, sensor in (("performance", "check_performance"), ("data_shift", "check_drift")):
        expected = "success" if kind == fired else "skipped"
        assert first["tasks"][sensor] == expected, first
        assert first["tasks"][f"retrain_on_{kind}"] == expected, first
    assert first["tasks"]["check_config"] == first["tasks"]["retrain_on_config_changed"] == "skipped"
    # Each check judged the served rows, with its actuals (which come days late), and says why.
    performance, drift = check_summary(platform, "performance"), check_summary(platform, "drift")
    assert performance["rows"] > 0 and performance["breached"] is (fired == "performance"), performance
    assert set(performance["details"]["slices"]["region"]) >= {"north", "south", "east", "west"}
    assert drift["details"]["source"] == "served" and drift["rows"] > 0
    assert drift["breached"] is (fired == "data_shift"), drift
    if shift == "new_region":
        assert {"region", "origin"} <= set(drift["details"]["drifted_columns"])
    assert drift["report"].read_text().lstrip().lower().startswith("<!doctype html")
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


@contextmanager
def started(command: list[str], log: Path, ready_url: str) -> Iterator[None]:
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for(ready_url, 60, log.read_text)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_breach_goes_through_prometheus_and_alertmanager_to_one_retrain(model_home, tmp_path):
    """Real components, as deploy/ configures them: Prometheus scrapes the monitor's results
    from the alert receiver and evaluates deploy/prometheus/rules.yml; Alertmanager sends
    the firing alert to the receiver, which starts one training with the alert's reason."""
    platform, config, lakehouse, client = arrive("scale")
    ingest_actuals(PredictionLog(platform.serving.prediction_log_url), lakehouse, config, CHECK_DAY)
    assert check_performance(platform, config, client, CHECK_DAY).breached

    token, login = "a-receiver-token", ("admin", "admin", "a-password")
    env = {"CONVEYOR_ALERT_RECEIVER_TOKEN": token}
    with airflow_api_server(model_home, tmp_path, login, reserialize=True, extra_env=env) as airflow:
        alertmanager, prometheus = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
        (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump({
            "route": {"receiver": "conveyor", "group_by": ["alertname", "model"], "group_wait": "1s",
                      "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "conveyor", "webhook_configs": [{
                "url": f"{airflow}/conveyor-alerts/alerts",
                "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
            }]}],
        }))  # fmt: skip
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
            "scrape_configs": [{
                "job_name": "conveyor-monitor", "metrics_path": "/conveyor-alerts/metrics",
                "authorization": {"type": "Bearer", "credentials": token},
                "static_configs": [{"targets": [airflow.removeprefix("http://")]}],
            }],
        }))  # fmt: skip
        am_command = ["prometheus-alertmanager", f"--config.file={tmp_path / 'alertmanager.yml'}",
                      f"--storage.path={tmp_path / 'am'}", f"--web.listen-address={alertmanager}",
                      "--cluster.listen-address="]  # fmt: skip
        prom_command = ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                        f"--web.listen-address={prometheus}"]  # fmt: skip
        with (
            started(am_command, tmp_path / "alertmanager.log", f"http://{alertmanager}/-/ready"),
            started(prom_command, tmp_path / "prometheus.log", f"http://{prometheus}/-/ready"),
        ):
            bearer = {"Authorization": f"Bearer {airflow_token(airflow, login)}"}

            def train_runs() -> list[dict]:
                found = httpx.get(f"{airflow}/api/v2/dags/freight_volume__train/dagRuns", headers=bearer)
                return found.json()["dag_runs"]

            deadline = time.monotonic() + 90
            while not train_runs() and time.monotonic() < deadline:
                time.sleep(1)
            logs = (tmp_path / "prometheus.log").read_text()[-2000:] + (
                tmp_path / "alertmanager.log"
            ).read_text()[-2000:]
            [run] = train_runs() or [None]
            assert run is not None, f"no training started within 90 s:\n{logs}"
            assert run["dag_run_id"].startswith("alert__ConveyorLiveErrorHigh__"), run
            assert run["conf"] == {"reason": "alert: ConveyorLiveErrorHigh"}
            time.sleep(5)  # Prometheus keeps the alert firing and Alertmanager keeps it grouped
            assert len(train_runs()) == 1, "the same alert again starts nothing"
