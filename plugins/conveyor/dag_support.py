"""What every Conveyor DAG shares: the model configs it is built from, defaults, assets, and
the small decisions DAGs make between steps. Imports nothing heavy: DAG files parse fast."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum

if TYPE_CHECKING:
    from airflow.sdk import Asset

    from pipelines.config import ModelConfig

START_DATE = pendulum.datetime(2024, 1, 1, tz="UTC")
# The day a run works on: its logical date, or, for a run triggered without one (an alert
# through the REST API), the day it was triggered.
RUN_DAY_EXPRESSION = "((dag_run.logical_date or dag_run.run_after) | ds)"
RUN_DAY = "{{ " + RUN_DAY_EXPRESSION + " }}"


def model_configs() -> list[ModelConfig]:
    """Every model in configs/models/; a broken file fails the DAG file's import with the
    config error's message, which the Airflow UI shows."""
    from pipelines.config import load_model_config, model_names

    return [load_model_config(name) for name in model_names()]


def default_args(config: ModelConfig) -> dict[str, Any]:
    return {
        "owner": config.owner,
        "retries": 3,
        "retry_delay": timedelta(seconds=30),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    }


def features_asset(config: ModelConfig) -> Asset:
    """Emitted when a model's features have new data; the train DAG can listen to it."""
    from airflow.sdk import Asset

    return Asset(name=f"{config.name}_features", uri=f"conveyor://features/{config.name}")


def trigger_reason(run_type: str, requested: str | None) -> str:
    """Why a training run runs: what its trigger asked for, else what started it."""
    by_run_type = {"scheduled": "schedule", "asset_triggered": "new features", "backfill": "backfill"}
    if run_type in by_run_type and not requested:
        return by_run_type[run_type]
    return requested or "manual"


def promotion_branch(gate: dict[str, Any] | None, force: bool) -> str:
    """The task to follow the gate with: promote, or keep the champion."""
    if force or (gate or {}).get("promote"):
        return "promote_model"
    return "keep_champion"
