"""Where things live, per environment: configs/platform/<env>.yaml, picked by CONVEYOR_ENV."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from pipelines.config.base import Identifier, StrictModel

ENVIRONMENTS = ("local", "compose", "kubernetes")


class OnlineStoreConfig(StrictModel):
    type: Literal["sqlite", "redis"]
    path: str | None = None
    connection_string: str | None = None


class FeastConfig(StrictModel):
    project: Identifier = "conveyor"
    registry: str = Field(description="Path or SQL URL of Feast's registry.")
    online_store: OnlineStoreConfig
    offline_store: Literal["duckdb", "dask"] = Field(
        default="duckdb",
        description="Feast's offline store, which joins training sets point-in-time from gold:"
        " duckdb (fast, little memory) or dask (the earlier one; same rows, see"
        " pipelines/features/offline.py).",
    )


class ServingConfig(StrictModel):
    prediction_log_url: str = Field(description="SQLAlchemy URL of the prediction log and actuals.")
    poll_seconds: float = Field(gt=0, description="How often the service checks the champion alias.")
    flush_seconds: float = Field(gt=0, description="Longest a logged prediction waits in memory.")
    max_batch_rows: int = Field(gt=0, description="Most rows one request may score.")
    max_body_bytes: int = Field(gt=0, description="Bodies larger than this are refused unread.")
    api_token: str | None = Field(
        default=None, description="Bearer token /predict requires; none on the embedded default."
    )
    metrics_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Per model, its service's /metrics, where a release's guardrails (the candidate's"
        " error rate and p99) are read; a model without one is released on its live metric alone.",
    )


class PlatformConfig(StrictModel):
    """Where the platform keeps its state in one environment."""

    environment: Literal["local", "compose", "kubernetes"]
    home: Path = Field(description="Root of all embedded state; CONVEYOR_HOME overrides it.")
    lakehouse_uri: str = Field(description="fsspec URI of the lakehouse root.")
    landing_uri: str = Field(description="fsspec URI where new batches land before ingest.")
    mlflow_tracking_uri: str
    mlflow_artifact_uri: str = Field(description="Where new experiments store artifacts.")
    checkpoints_uri: str = Field(description="Training checkpoints, so a retried task resumes.")
    reports_uri: str = Field(description="Gate reports and other human-readable outputs.")
    feast: FeastConfig
    serving: ServingConfig
    release_lock_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of a PostgreSQL database whose advisory locks serialise a"
        " model's alias moves across hosts; none: a file lock under home (one host).",
    )
    tuning_storage_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database holding Optuna's studies, shared by every"
        " worker's trials; none: a SQLite file under home (one host).",
    )
    alert_webhook_url: str | None = Field(
        default=None,
        description="Where a breach of a trigger in `notify` mode is sent, in Alertmanager's"
        " alert format: Alertmanager's /api/v2/alerts, or any webhook that takes it.",
    )
