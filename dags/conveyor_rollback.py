"""<model>__rollback, one Airflow DAG per model config: point champion back at an earlier version.
What it does: dags/docs/rollback.md; its code: the function of the same name."""

from __future__ import annotations

from pathlib import Path

from conveyor.dag_support import model_configs, model_dag
from conveyor.forms import rollback_params
from conveyor.operators.step import step_task


def build_rollback_dag(config):
    with model_dag(
        config,
        "rollback",
        doc=Path(__file__).parent / "docs" / "rollback.md",
        schedule=None,
        params=rollback_params(config),
        retries=1,
        description=f"Point {config.name}'s champion at an earlier version",
    ) as dag:
        step_task(
            "release.rollback.rollback_champion", "-m", config.name, "--version", "{{ params.version }}"
        )
    return dag


for _config in model_configs():
    globals()[f"{_config.name}__rollback"] = build_rollback_dag(_config)
