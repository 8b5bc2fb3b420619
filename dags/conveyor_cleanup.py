"""<model>__cleanup, one Airflow DAG per model config: weekly, delete the training and test
sets nothing refers to. What it does: dags/docs/cleanup.md; its code: the function of the
same name."""

from __future__ import annotations

from pathlib import Path

from conveyor.cleanup_dag import no_training_in_flight
from conveyor.dag_support import model_configs, model_dag
from conveyor.operators.step import step_task


def build_cleanup_dag(config):
    with model_dag(
        config,
        "cleanup",
        doc=Path(__file__).parent / "docs" / "cleanup.md",
        schedule="@weekly",
        retries=1,
        description=f"Delete {config.name}'s datasets that no version or training refers to",
    ) as dag:
        guard = no_training_in_flight(f"{config.name}__train")
        guard >> step_task("features.datasets.cleanup_datasets", "-m", config.name, "--delete")
    return dag


for _config in model_configs():
    globals()[f"{_config.name}__cleanup"] = build_cleanup_dag(_config)
