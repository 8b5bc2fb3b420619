"""The cleanup DAG's guard: no dataset is deleted while a training of the model is queued
or running (it may be about to read the sets it built). Imports nothing heavy."""

from __future__ import annotations

from typing import Any

from airflow.sdk import task


@task
def no_training_in_flight(train_dag_id: str, ti: Any = None) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    in_flight = ti.get_dr_count(dag_id=train_dag_id, states=["queued", "running"])
    if in_flight:
        raise AirflowSkipException(
            f"{in_flight} run(s) of {train_dag_id} queued or running; the cleanup waits for its next turn"
        )
