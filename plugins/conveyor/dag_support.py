"""What every Conveyor DAG shares: the model configs it is built from, defaults, assets, and
the small decisions DAGs make between steps. Imports nothing heavy: DAG files parse fast."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pendulum

if TYPE_CHECKING:
    from airflow.sdk import Asset

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


def default_args(config: ModelConfig) -> dict[str, Any]:
    # The first retry waits CONVEYOR_RETRY_DELAY_SECONDS (30 unless set), doubling each
    # time; tests that take a store down set it low so a retry comes in seconds.
    retry_delay = float(os.environ.get("CONVEYOR_RETRY_DELAY_SECONDS", "30"))
    return {
        "owner": config.owner,
        "retries": 3,
        "retry_delay": timedelta(seconds=retry_delay),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    }


def features_asset(config: ModelConfig) -> Asset:
    """Emitted when a model's features have new data; the train DAG can listen to it."""
    from airflow.sdk import Asset

    return Asset(name=f"{config.name}_features", uri=f"conveyor://features/{config.name}")


def trigger_reason(run_type: str, requested: str | None) -> str:
    """Why a training run runs: what its trigger or form asked for, else what started it
    (a scheduled run carries the form's default, "manual", which is not a reason)."""
    by_run_type = {"scheduled": "schedule", "asset_triggered": "new features", "backfill": "backfill"}
    if requested and requested != "manual":
        return requested
    return by_run_type.get(run_type, "manual")


def promotion_branch(gate: dict[str, Any] | None, force: bool, approval: bool) -> str:
    """The task to follow the gate with: promotion (through a human's approval when the
    config asks for one), or keeping the champion."""
    if force or (gate or {}).get("promote"):
        return "approve_promotion" if approval else "promote_model"
    return "keep_champion"
