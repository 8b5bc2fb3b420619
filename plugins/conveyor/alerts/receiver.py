"""The alert receiver: Alertmanager's webhook, mounted by Airflow's API server at
``/conveyor-alerts`` (``/alerts``), and the monitor's latest results for Prometheus
(``/metrics``, read by the rules in ``deploy/prometheus/``). A firing alert with a
``model`` label starts that model's train DAG with the reason ``alert: <alertname>``, once
per alert and day (the run id ``alert__<alertname>__<day>``), as the monitor's own
triggers do. Resolved alerts, and a check's breach in notify mode (label
``on_breach="notify"``), start nothing.

Alertmanager (``http_config.authorization`` in its webhook config) and Prometheus send a
bearer token that must equal ``CONVEYOR_ALERT_RECEIVER_TOKEN`` in the API server's
environment; without that variable the receiver refuses everything (503). Every alert of a
notification is checked before any run starts: a payload that is not Alertmanager's, or
that names a model the platform does not have, starts nothing."""

from __future__ import annotations

import hmac
import os
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict

URL_PREFIX = "/conveyor-alerts"
TOKEN_VARIABLE = "CONVEYOR_ALERT_RECEIVER_TOKEN"


class Alert(BaseModel):
    model_config = ConfigDict(extra="allow")
    status: str
    labels: dict[str, str]
    annotations: dict[str, str] = {}


class Notification(BaseModel):
    """Alertmanager's webhook body (version 4); the fields the receiver reads."""

    model_config = ConfigDict(extra="allow")
    version: str
    status: str
    alerts: list[Alert]


def authenticated(
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> None:
    expected = os.environ.get(TOKEN_VARIABLE)
    if not expected:
        raise HTTPException(
            503, f"the alert receiver is not configured: set {TOKEN_VARIABLE} on the API server"
        )
    if bearer is None or not hmac.compare_digest(bearer.credentials.encode(), expected.encode()):
        raise HTTPException(401, "a bearer token equal to the receiver's token is required")


def runs_to_start(notification: Notification, models: set[str], day: str) -> list[tuple[str, str, str]]:
    """(dag id, run id, reason) for each firing alert; HTTPException 422 for one that
    names no model or a model the platform does not have."""
    runs = []
    for number, alert in enumerate(notification.alerts):
        if alert.status != "firing" or alert.labels.get("on_breach") == "notify":
            continue  # resolved, or a breach its trigger only reports (on_breach: notify)
        name, model = alert.labels.get("alertname", "alert"), alert.labels.get("model")
        if model not in models:
            problem = (
                "has no `model` label" if model is None else f"names model {model!r}, which is not configured"
            )
            raise HTTPException(
                422,
                f"alert {number} ({name}) {problem}; known models: {', '.join(sorted(models))}."
                " No run started.",
            )
        runs.append((f"{model}__train", f"alert__{name}__{day}", f"alert: {name}"))
    return runs


def create_app() -> FastAPI:
    app = FastAPI(title="Conveyor alert receiver")

    @app.post("/alerts", dependencies=[Depends(authenticated)])
    def receive(notification: Notification) -> dict[str, Any]:
        from airflow.exceptions import DagRunAlreadyExists

        from conveyor.dag_support import model_configs

        models = {config.name for config in model_configs()}
        started = []
        for dag_id, run_id, reason in runs_to_start(
            notification, models, datetime.now(UTC).date().isoformat()
        ):
            try:
                _trigger(dag_id, run_id, reason)
                started.append({"dag_id": dag_id, "run_id": run_id, "started": True})
            except DagRunAlreadyExists:  # the same alert again that day
                started.append({"dag_id": dag_id, "run_id": run_id, "started": False})
        return {"runs": started}

    @app.get("/metrics", dependencies=[Depends(authenticated)])
    def metrics() -> Response:
        """The monitor's latest results per model and check, for Prometheus to scrape."""
        from conveyor.dag_support import model_configs
        from pipelines.config.load import load_platform_config
        from pipelines.monitor.exporter import monitoring_metrics

        models = [config.name for config in model_configs()]
        body = monitoring_metrics(load_platform_config().reports_uri, models)
        return Response(body, media_type="text/plain; version=0.0.4")

    return app


def _trigger(dag_id: str, run_id: str, reason: str) -> None:
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    trigger_dag(dag_id, run_id=run_id, conf={"reason": reason}, triggered_by=DagRunTriggeredByType.REST_API)
