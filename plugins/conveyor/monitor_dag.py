"""The monitor DAG's pieces after its checks: a breach starts the model's train DAG, once per
reason and day. Imports nothing heavy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

from conveyor.dag_support import RUN_DAY

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

    from pipelines.config.model import ModelConfig


def retrain_on(config: ModelConfig, reason: str, check: BaseOperator) -> TriggerDagRunOperator:
    """``check >> retrain_on_<reason>``: starts ``<model>__train`` with ``reason``; the run id
    ``<reason>__<day>`` makes a second breach of the same day a no-op."""
    slug = reason.replace(" ", "_")
    trigger = TriggerDagRunOperator(
        task_id=f"retrain_on_{slug}",
        trigger_dag_id=f"{config.name}__train",
        trigger_run_id=f"{slug}__{RUN_DAY}",
        logical_date="{{ dag_run.logical_date }}",
        conf={"reason": reason},
        skip_when_already_exists=True,
    )
    check >> trigger
    return trigger
