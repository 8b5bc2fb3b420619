"""The Models view's HTML: the data of ``pipelines.ui.models`` with links into Airflow,
MLflow and the Evidently reports, and its plots as inline SVG."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pipelines.monitor.charts import line_chart
from pipelines.monitor.history import check_chart

TEMPLATES = Path(__file__).parent / "templates"
# MLflow's UI as a browser reaches it (the tracking URI may be a database or an address
# only containers resolve); without it runs are named, not linked.
MLFLOW_UI_ENV = "CONVEYOR_MLFLOW_UI_URL"


def render_page(views: list[dict[str, Any]], *, app_root: str, airflow_root: str) -> str:
    """The whole page for ``views``. ``app_root`` is where this app is mounted
    (``<base>/conveyor``), ``airflow_root`` the UI's base, both without a trailing slash."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    links = Links(app_root, airflow_root, os.environ.get(MLFLOW_UI_ENV, "").rstrip("/"))
    models = [{**view, "links": links.for_model(view), "charts": charts(view)} for view in views]
    return environment.get_template("models.html").render(models=models, links=links)


class Links:
    """Where each thing the page names lives."""

    def __init__(self, app_root: str, airflow_root: str, mlflow_ui: str) -> None:
        self.app_root, self.airflow_root, self.mlflow_ui = app_root, airflow_root, mlflow_ui

    def dag(self, dag_id: str) -> str:
        return f"{self.airflow_root}/dags/{quote(dag_id, safe='')}"

    def dag_run(self, dag_id: str, run_id: str) -> str:
        return f"{self.dag(dag_id)}/runs/{quote(run_id, safe='')}" if run_id else ""

    def mlflow_run(self, version: dict[str, Any] | None) -> str:
        if not self.mlflow_ui or not version:
            return ""
        return f"{self.mlflow_ui}/#/experiments/{version['experiment_id']}/runs/{version['run_id']}"

    def report(self, model: str, name: str) -> str:
        return (
            f"{self.app_root}/models/{quote(model, safe='')}/reports/{quote(name, safe='')}" if name else ""
        )

    def card(self, model: str, version: dict[str, Any] | None) -> str:
        if not version or not version.get("has_card"):
            return ""
        return f"{self.app_root}/models/{quote(model, safe='')}/cards/{quote(version['version'], safe='')}"

    def for_model(self, view: dict[str, Any]) -> dict[str, Any]:
        dags = view["dags"]
        drift = view["monitoring"]["drift"]["latest"]
        return {
            "retrain": self.dag(dags["train"]),
            "rollback": self.dag(dags["rollback"]),
            "monitor": self.dag(dags["monitor"]),
            "drift_report": self.report(view["model"], drift["report"]) if drift else "",
            "data": f"{self.app_root}/api/models/{quote(view['model'], safe='')}",
        }


def charts(view: dict[str, Any]) -> dict[str, str]:
    """The three plots: the gate metric of every version, live error and drift share by day."""
    metric = view["gate_metric"]
    versions = view["versions"]
    performance = view["monitoring"]["performance"]["history"]
    drift = view["monitoring"]["drift"]["history"]
    return {
        "versions": line_chart(
            [f"v{v['version']}" for v in versions],
            [v["metrics"].get(metric["name"]) for v in versions],
            title=f"test {metric['name']} by version (red: champion)",
            threshold=metric["business_threshold"],
            flagged=["champion" in v["aliases"] for v in versions],
        ),
        "performance": check_chart(
            performance,
            title=f"live {view['live_metric']} by day (red: breached)",
            threshold=performance[-1]["threshold"] if performance else None,
        ),
        "drift": check_chart(
            drift,
            title="drift share by day (red: breached)",
            threshold=drift[-1]["threshold"] if drift else None,
        ),
    }
