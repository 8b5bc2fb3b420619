"""<model>__monitor, one DAG per model config: watch the champion, start a retrain when needed.

ingest_actuals -> sense_performance -> retrain_on_performance
sense_data_shift -> retrain_on_data_shift
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import DAG
from conveyor.dag_support import RUN_DAY, START_DATE, default_args, model_configs
from conveyor.operators.step import conveyor_task
from conveyor.sensors.monitoring import ChampionCheckSensor

DOC = """
### Monitor {model}

Every {every} minutes, the actuals reported lately are loaded next to the prediction
log (`ingest_actuals`), and two sensors check the champion:

- **sense_performance**: the error of what it served for the last {window} target days,
  where actuals have arrived, against `{metric} > {threshold}`;
- **sense_data_shift**: Evidently's share of drifted features in what it was asked over the
  last week, against the champion's test set, against `>= {share}`.

A breach starts `{model}__train` with the reason `performance` or `data shift`, once per
reason and day (the triggered run's id is `<reason>__<day>`), and not within
{cooldown} minutes of a triggered training. Reports: `reports/{model}/`.
"""


def _retrain(config, reason: str, after: ChampionCheckSensor) -> TriggerDagRunOperator:
    slug = reason.replace(" ", "_")
    trigger = TriggerDagRunOperator(
        task_id=f"retrain_on_{slug}",
        trigger_dag_id=f"{config.name}__train",
        trigger_run_id=f"{slug}__{RUN_DAY}",
        logical_date="{{ dag_run.logical_date }}",
        conf={"reason": reason},
        skip_when_already_exists=True,
    )
    after >> trigger
    return trigger


def build_monitor_dag(config):
    every = config.triggers.monitor_every_minutes
    checks = {"performance": "sense_performance", "drift": "sense_data_shift"}
    with DAG(
        dag_id=f"{config.name}__monitor",
        schedule=timedelta(minutes=every),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(config),
        tags=["conveyor", config.name, "monitor"],
        doc_md=DOC.format(
            model=config.name,
            every=every,
            window=config.triggers.performance.window_days,
            metric=config.triggers.performance.metric,
            threshold=config.triggers.performance.threshold,
            share=config.triggers.drift.share_threshold,
            cooldown=config.triggers.cooldown_minutes,
        ),
        description=f"Watch {config.name}'s champion; retrain on poor performance or data shift",
    ) as dag:
        sensors = {
            check: ChampionCheckSensor(
                task_id=task_id,
                arguments=["monitor", check, "-m", config.name, "-d", RUN_DAY, "--json"],
                timeout=timedelta(minutes=every),
            )
            for check, task_id in checks.items()
        }
        actuals = conveyor_task(
            "ingest_actuals", ["actuals", "ingest", "-m", config.name, "-d", RUN_DAY, "--json"]
        )
        actuals >> sensors["performance"]
        _retrain(config, "performance", sensors["performance"])
        _retrain(config, "data shift", sensors["drift"])
    return dag


for _config in model_configs():
    globals()[f"{_config.name}__monitor"] = build_monitor_dag(_config)
