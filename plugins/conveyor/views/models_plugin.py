"""Registers the Models view with Airflow: the app under ``/conveyor`` and a "Models" entry
in the UI's navigation that shows its page inside the UI."""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

from conveyor.views.models_app import URL_PREFIX, create_app


class ConveyorModelsPlugin(AirflowPlugin):
    name = "conveyor_models"

    def __init__(self) -> None:
        # Built when Airflow loads its plugins, not when this file is imported.
        super().__init__()
        self.fastapi_apps: list[Any] = [
            {"app": create_app(), "url_prefix": URL_PREFIX, "name": "Conveyor models"}
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
