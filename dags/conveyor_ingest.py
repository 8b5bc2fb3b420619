"""<model>__ingest, one Airflow DAG per model config: a day's batch through the lakehouse into Feast.
What each task does: dags/docs/ingest.md; its code: the function of the same name."""

from __future__ import annotations

from pathlib import Path

from conveyor.dag_support import RUN_DAY, features_asset, model_configs, model_dag
from conveyor.operators.step import step_task


def build_ingest_dag(config):
    day = ("-m", config.name, "-d", RUN_DAY)
    with model_dag(
        config,
        "ingest",
        doc=Path(__file__).parent / "docs" / "ingest.md",
        schedule="@daily",
        description=f"Daily {config.source.name} batch into bronze, silver, gold and Feast",
    ) as dag:
        (
            step_task("lakehouse.ingest.ingest_batch", *day)
            >> step_task("lakehouse.validate.validate_batch", *day)
            >> step_task("lakehouse.gold.build_gold", *day)
            >> step_task("features.store.apply_features", "-m", config.name)
            >> step_task("features.store.materialize_features", *day, outlets=[features_asset(config)])
        )
    return dag


for _config in model_configs():
    globals()[f"{_config.name}__ingest"] = build_ingest_dag(_config)
