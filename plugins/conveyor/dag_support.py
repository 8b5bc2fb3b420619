"""What every Conveyor DAG shares: the model configs it is built from, the DAG's defaults and
documentation, the run's day, and the features asset. Imports nothing heavy: DAG files
parse fast."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum

if TYPE_CHECKING:
    from pathlib import Path

    from airflow.sdk import DAG, Asset

    from pipelines.config.model import ModelConfig

START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")
# The day a run works on: its logical date, or, for a run triggered without one (an alert
# through the REST API), the day it was triggered.
RUN_DAY_EXPRESSION = "((dag_run.logical_date or dag_run.run_after) | ds)"
RUN_DAY = "{{ " + RUN_DAY_EXPRESSION + " }}"


def model_configs() -> list[ModelConfig]:
    """Every model in configs/models/; a broken file fails the DAG file's import with the
    config error's message, which the Airflow UI shows."""
    from pipelines.config.load import load_model_config, model_names

    return [load_model_config(name) for name in model_names()]


def default_args(config: ModelConfig, retries: int = 3) -> dict[str, Any]:
    # The first retry waits CONVEYOR_RETRY_DELAY_SECONDS (30 unless set), doubling each
    # time; tests that take a store down set it low so a retry comes in seconds.
    retry_delay = float(os.environ.get("CONVEYOR_RETRY_DELAY_SECONDS", "30"))
    return {
        "owner": config.owner,
        "retries": retries,
        "retry_delay": timedelta(seconds=retry_delay),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    }


def doc_fields(config: ModelConfig) -> dict[str, Any]:
    """What a DAG's documentation (dags/docs/<kind>.md) may name of its model's config."""
    triggers = config.triggers
    return {
        "model": config.name,
        "source": config.source.name,
        "model_type": config.model.type,
        "seed": config.model.seed,
        "mode": config.gates.mode,
        "every": triggers.monitor_every_minutes,
        "window": triggers.performance.window_days,
        "metric": triggers.performance.metric,
        "threshold": triggers.performance.threshold,
        "share": triggers.drift.share_threshold,
        "cooldown": triggers.cooldown_minutes,
    }


def model_dag(
    config: ModelConfig,
    kind: str,
    *,
    doc: Path,
    schedule: Any,
    description: str,
    retries: int = 3,
    **kwargs: Any,
) -> DAG:
    """The DAG ``<model>__<kind>``: owned, tagged, documented from ``doc`` (markdown with the
    fields of ``doc_fields``), retried, one run at a time (triggers queue, never pile up)."""
    from airflow.sdk import DAG

    return DAG(
        dag_id=f"{config.name}__{kind}",
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=default_args(config, retries),
        tags=["conveyor", config.name, kind],
        doc_md=doc.read_text().format(**doc_fields(config)),
        description=description,
        **kwargs,
    )


def features_asset(config: ModelConfig) -> Asset:
    """Emitted when a model's features have new data; the train DAG can listen to it."""
    from airflow.sdk import Asset

    return Asset(name=f"{config.name}_features", uri=f"conveyor://features/{config.name}")
