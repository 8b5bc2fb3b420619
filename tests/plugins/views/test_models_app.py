"""The Models view's app as Airflow's API server mounts it, on a real (SQLite) registry.

Who is logged in is stubbed here (``readable_models``, ``page_readable``);
tests/integration/test_models_view.py checks the real login against a running API server."""

from __future__ import annotations

from pathlib import Path

import pytest
from conveyor.views.models_app import URL_PREFIX, create_app, page_readable, readable_models
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipelines.release.registry import move_champion
from pipelines.training.tracking import mlflow_client
from tests.support import free_port
from tests.unit.ui.fake_registry import MODEL, add_version, write_check

DATA_ROUTES = [
    "/api/models",
    f"/api/models/{MODEL}",
    f"/models/{MODEL}/reports/drift-2024-05-12.html",
]


def mounted(readable: list[str] | None) -> TestClient:
    """The app under /conveyor of a parent app, as the API server mounts it; ``readable``
    stands for the logged-in user's models (None: nobody logged in, the real check runs)."""
    app = create_app()
    if readable is not None:
        app.dependency_overrides[readable_models] = lambda: readable
        app.dependency_overrides[page_readable] = lambda: readable
    root = FastAPI()
    root.mount(URL_PREFIX, app)
    return TestClient(root)


@pytest.fixture
def home_with_a_champion(platform):
    client = mlflow_client(platform)
    first = add_version(client, platform, rmse=13.5, promote=True)
    move_champion(client, platform, MODEL, first, expected_champion=None)
    add_version(client, platform, rmse=16.0, promote=False, reason="data shift",
                dag_run_id="data_shift__2024-05-12")  # fmt: skip
    write_check(platform, "performance", "2024-05-12", 14.4)
    write_check(platform, "performance", "2024-05-19", 33.1)
    write_check(platform, "drift", "2024-05-12", 0.56)
    return platform


@pytest.mark.parametrize("route", DATA_ROUTES)
def test_nobody_logged_in_gets_nothing(route):
    response = mounted(readable=None).get(f"{URL_PREFIX}{route}")

    assert response.status_code == 401
    assert "freight" not in response.text


def test_a_browser_not_logged_in_is_sent_to_the_login_and_back():
    page = mounted(readable=None).get(f"{URL_PREFIX}/models", follow_redirects=False)

    assert page.status_code == 303
    assert page.headers["location"] == "/auth/login?next=http%3A%2F%2Ftestserver%2Fconveyor%2Fmodels"
    assert "freight" not in page.text


@pytest.mark.parametrize("route", ["/api/models", "/models"])
def test_a_registry_that_does_not_answer_is_a_503_that_says_so(route, conveyor_home, monkeypatch):
    """The compose profile's MLflow server, stopped: nothing listens at its address."""
    monkeypatch.setenv("CONVEYOR_ENV", "compose")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    for unused in ["CONVEYOR_FEAST_REGISTRY_URL", "CONVEYOR_PREDICTION_LOG_URL"]:
        monkeypatch.setenv(unused, "postgresql+psycopg2://127.0.0.1/unused")
    monkeypatch.setenv("CONVEYOR_REDIS", "127.0.0.1:6379")

    response = mounted(readable=[MODEL]).get(f"{URL_PREFIX}{route}")

    assert response.status_code == 503, response.text
    assert "the model registry (MLflow) is not answering" in response.json()["detail"]
    assert response.headers["retry-after"] == "30"


def test_the_data_endpoint_returns_the_readable_models(home_with_a_champion):
    http = mounted(readable=[MODEL])

    models = http.get(f"{URL_PREFIX}/api/models").json()["models"]
    one = http.get(f"{URL_PREFIX}/api/models/{MODEL}").json()

    assert [m["model"] for m in models] == [MODEL]
    assert (one["champion"]["version"], one["challenger"]["version"]) == ("1", "2")
    assert one["monitoring"]["drift"]["latest"]["report"] == "drift-2024-05-12.html"


def test_a_model_the_user_may_not_read_is_not_found(home_with_a_champion):
    http = mounted(readable=[])

    assert http.get(f"{URL_PREFIX}/api/models").json() == {"models": []}
    assert http.get(f"{URL_PREFIX}/api/models/{MODEL}").status_code == 404
    assert http.get(f"{URL_PREFIX}/models/{MODEL}/reports/drift-2024-05-12.html").status_code == 404


def test_the_page_links_to_the_dags_forms_runs_and_reports(home_with_a_champion, monkeypatch):
    monkeypatch.setenv("CONVEYOR_MLFLOW_UI_URL", "http://mlflow.example:5000/")
    page = mounted(readable=[MODEL]).get(f"{URL_PREFIX}/models")

    assert page.status_code == 200, page.text
    html = page.text
    assert 'href="/dags/freight_volume__train">Retrain' in html
    assert 'href="/dags/freight_volume__rollback">Roll back' in html
    assert 'href="/dags/freight_volume__train/runs/data_shift__2024-05-12"' in html
    assert 'href="/conveyor/models/freight_volume/reports/drift-2024-05-12.html"' in html
    assert "http://mlflow.example:5000/#/experiments/" in html
    assert html.count("<svg") == 3, "metric by version, live error, drift share"
    assert 'class="threshold"' in html and "threshold 18" in html and "threshold 0.3" in html


def test_the_drift_report_is_served_and_nothing_else(home_with_a_champion):
    http = mounted(readable=[MODEL])

    report = http.get(f"{URL_PREFIX}/models/{MODEL}/reports/drift-2024-05-12.html")
    assert report.status_code == 200 and "Evidently drift report 2024-05-12" in report.text
    for name in ["drift-2024-05-13.html", "performance-2024-05-12.json", "..%2F..%2Fmlflow.db"]:
        assert http.get(f"{URL_PREFIX}/models/{MODEL}/reports/{name}").status_code == 404, name


def test_the_plugin_imports_nothing_the_airflow_image_lacks():
    """The Airflow image has Airflow, pydantic, PyYAML and MLflow's client, not the ML stack:
    a plugin that imports it fails to load there, and the Models view is gone."""
    import subprocess
    import sys

    plugins = Path(__file__).resolve().parents[3] / "plugins"
    script = (
        f"import sys\nsys.path.insert(0, {str(plugins)!r})\n"
        "import conveyor.views.models_plugin, conveyor.views.models_page, conveyor.views.models_app\n"
        "print([m for m in ('numpy', 'pandas', 'torch', 'feast', 'great_expectations', 'evidently')"
        " if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
