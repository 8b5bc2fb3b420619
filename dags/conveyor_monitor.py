"""<model>__monitor, one Airflow DAG per model config: watch the champion (and its config file),
start a retrain when needed.
What each task does: dags/docs/monitor.md; its code: the function of the same name."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from conveyor.dag_support import RUN_DAY, model_configs, model_dag
from conveyor.monitor_dag import retrain_on
from conveyor.operators.step import step_task
from conveyor.sensors.monitoring import ChampionCheckSensor


def build_monitor_dag(config):
    every = timedelta(minutes=config.triggers.monitor_every_minutes)
    day = ("-m", config.name, "-d", RUN_DAY, "--json")
    with model_dag(
        config,
        "monitor",
        doc=Path(__file__).parent / "docs" / "monitor.md",
        schedule=every,
        description=f"Watch {config.name}'s champion; retrain on poor performance, drift, a new config",
    ) as dag:
        performance = ChampionCheckSensor(
            step="monitor.performance.check_performance", arguments=day, timeout=every
        )
        drift = ChampionCheckSensor(step="monitor.drift.check_drift", arguments=day, timeout=every)
        config_file = ChampionCheckSensor(
            step="monitor.config_change.check_config", arguments=day, timeout=every
        )
        actuals = step_task("monitor.actuals.ingest_actuals", *day)
        actuals >> [performance, step_task("monitor.release.judge_candidate", *day)]
        retrain_on(config, "performance", performance)
        retrain_on(config, "data shift", drift)
        retrain_on(config, "config changed", config_file)
    return dag


for _config in model_configs():
    globals()[f"{_config.name}__monitor"] = build_monitor_dag(_config)
