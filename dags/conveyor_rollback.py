"""<model>__rollback, one DAG per model config: point champion back at an earlier version."""

from __future__ import annotations

from airflow.sdk import DAG
from conveyor.dag_support import START_DATE, default_args, model_configs
from conveyor.forms import rollback_params
from conveyor.operators.step import conveyor_task

DOC = """
### Roll back {model}

Moves the `champion` alias of `{model}` to the version you name; the serving service
follows within seconds. The version must exist in the registry; the run fails, changing
nothing, if it does not. See the versions with `conveyor lineage {model}@<version>`.
"""


def build_rollback_dag(config):
    with DAG(
        dag_id=f"{config.name}__rollback",
        schedule=None,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args={**default_args(config), "retries": 1},
        params=rollback_params(config),
        tags=["conveyor", config.name, "rollback"],
        doc_md=DOC.format(model=config.name),
        description=f"Point {config.name}'s champion at an earlier version",
    ) as dag:
        conveyor_task(
            "rollback_champion", ["rollback", "-m", config.name, "--version", "{{ params.version }}"]
        )
    return dag


for _config in model_configs():
    globals()[f"{_config.name}__rollback"] = build_rollback_dag(_config)
