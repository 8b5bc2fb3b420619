"""Registers our apps with Airflow's API server: the Models view under ``/conveyor`` with a
"Models" entry in the UI's navigation, and the alert receiver under ``/conveyor-alerts``."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from conveyor.alerts import receiver
from conveyor.views.models_app import URL_PREFIX, create_app


class ConveyorModelsPlugin(AirflowPlugin):
    name = "conveyor_models"

    def __init__(self) -> None:
        # Built when Airflow loads its plugins, not when this file is imported.
        super().__init__()
        self.fastapi_apps: list[Any] = [
            {"app": create_app(), "url_prefix": URL_PREFIX, "name": "Conveyor models"},
            {"app": receiver.create_app(), "url_prefix": receiver.URL_PREFIX, "name": "Conveyor alerts"},
        ]
        self.external_views: list[Any] = [
            {
                "name": "Models",
                # Relative, so it follows the UI's base URL; shown in an iframe at /plugin/models.
                "href": f"{URL_PREFIX.lstrip('/')}/models",
                "url_route": "models",
                "destination": "nav",
                "category": "browse",
            }
        ]
