"""<model>__ingest, one DAG per model config: a day's batch through the lakehouse into Feast.

ingest_batch -> validate_batch -> build_gold -> apply_features -> materialize_features;
the last task emits the model's features asset, which can start training.
"""

from __future__ import annotations

from airflow.sdk import DAG
from conveyor.dag_support import (
    RUN_DAY,
    RUN_DAY_EXPRESSION,
    START_DATE,
    default_args,
    features_asset,
    model_configs,
)
from conveyor.operators.step import conveyor_task

DOC = """
### Ingest {model}

Every day, the batch of `{source}` that arrived (its logical date is the day it arrived):

1. **ingest_batch**: copy it from the landing area into bronze, unchanged.
2. **validate_batch**: Great Expectations; a failing batch goes to quarantine and the run
   fails without retrying (the log names every failed expectation).
3. **build_gold**: features as of the day, from what had been reported by then.
4. **apply_features**, **materialize_features**: Feast registry, then the online store for
   the forecast's target day.
"""


def build_ingest_dag(config):
    horizon = config.features.horizon_days
    partition = ["-m", config.name, "-d", RUN_DAY]
    with DAG(
        dag_id=f"{config.name}__ingest",
        schedule="@daily",
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(config),
        tags=["conveyor", config.name, "ingest"],
        doc_md=DOC.format(model=config.name, source=config.source.name),
        description=f"Daily {config.source.name} batch into bronze, silver, gold and Feast",
    ) as dag:
        ingest_batch = conveyor_task("ingest_batch", ["ingest", *partition])
        validate_batch = conveyor_task("validate_batch", ["validate", *partition])
        build_gold = conveyor_task("build_gold", ["gold", *partition])
        apply_features = conveyor_task("apply_features", ["features", "apply", "-m", config.name])
        materialize_features = conveyor_task(
            "materialize_features",
            ["features", "materialize", "-m", config.name,
             "--start", f"{{{{ macros.ds_add({RUN_DAY_EXPRESSION}, {horizon}) }}}}",
             "--end", f"{{{{ macros.ds_add({RUN_DAY_EXPRESSION}, {horizon + 1}) }}}}"],
            outlets=[features_asset(config)],
        )  # fmt: skip
        ingest_batch >> validate_batch >> build_gold >> apply_features >> materialize_features
    return dag


for _config in model_configs():
    globals()[f"{_config.name}__ingest"] = build_ingest_dag(_config)
