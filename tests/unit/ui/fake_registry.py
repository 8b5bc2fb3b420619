"""A registry and reports folder holding what training, gates, promotion and the monitor
record, written directly: the Models view's tests need their records, not a trained model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.release.registry import CHALLENGER
from pipelines.training.lineage import as_tags
from pipelines.training.tracking import experiment_id

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.platform import PlatformConfig

MODEL = "freight_volume"


def add_version(
    client: MlflowClient,
    platform: PlatformConfig,
    *,
    rmse: float,
    promote: bool,
    reason: str = "manual",
    dag_run_id: str = "manual__2026-11-25T10:00:00+00:00",
) -> str:
    """A run with test metrics and a gate decision, registered as the next version (challenger)."""
    run_id = client.create_run(experiment_id(client, platform, MODEL)).info.run_id
    for name, value in {
        "rmse": rmse,
        "mae": rmse * 0.7,
        "train_loss": 99.0,
        "slice.region.north.rmse": 1.0,
    }.items():
        client.log_metric(run_id, name, value)
    fields = {
        "gate.promote": str(promote).lower(),
        "gate.kind": "retrain" if client.search_model_versions(f"name='{MODEL}'") else "first_deploy",
        "gate.mode": "enabled",
        "gate.summary": "all checks passed" if promote else "failed: beats_champion",
        "trigger_reason": reason,
        "dag_run_id": dag_run_id,
        "as_of": "2024-04-30",
    }
    if not client.search_registered_models(f"name='{MODEL}'"):
        client.create_registered_model(MODEL)
    version = client.create_model_version(MODEL, str(Path(platform.home) / "model"), run_id=run_id,
                                          tags=as_tags(fields)).version  # fmt: skip
    client.set_registered_model_alias(MODEL, CHALLENGER, str(version))
    return str(version)


def write_check(
    platform: PlatformConfig, check: str, day: str, value: float | None, *, html: bool = True
) -> None:
    """A monitor summary as ``monitor.check_*`` writes it (and drift's HTML report)."""
    folder = Path(platform.reports_uri) / MODEL
    folder.mkdir(parents=True, exist_ok=True)
    threshold = 18.0 if check == "performance" else 0.3
    details = {"drifted_columns": ["region"]} if check == "drift" else {"note": "no actuals"}
    summary = {
        "check": check, "model": MODEL, "as_of": day, "champion_version": "1", "value": value,
        "threshold": threshold, "rows": 200, "breached": value is not None and value > threshold,
        "cooldown_active": False, "details": details, "should_retrain": False,
        "report_uri": str(folder / f"{check}-{day}.html"),
    }  # fmt: skip
    (folder / f"{check}-{day}.json").write_text(json.dumps(summary))
    if check == "drift" and html:
        (folder / f"drift-{day}.html").write_text(f"<html><body>Evidently drift report {day}</body></html>")
