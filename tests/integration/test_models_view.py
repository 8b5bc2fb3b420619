"""The Models view inside a real Airflow API server (simple auth manager, our plugins
folder) on a home with a champion: no login, no data (a browser is sent to the login page);
a login sees the champion; the page loads with the cookie the UI keeps; the UI's navigation
lists it."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support import airflow_api_server

USER, PASSWORD = "operator", "a-long-random-secret"


@pytest.fixture
def api_server(tmp_path: Path, served_home: Path):
    # The least a login can be: one who may only look.
    with airflow_api_server(served_home, tmp_path, (USER, "viewer", PASSWORD)) as url:
        yield url


def test_the_models_view_needs_a_login_and_shows_the_champion(api_server):
    data = f"{api_server}/conveyor/api/models"
    for refused in [httpx.get(data),
                    httpx.get(data, headers={"Authorization": "Bearer not-a-token"}),
                    httpx.get(data, cookies={"_token": "not-a-token"})]:  # fmt: skip
        assert refused.status_code in (401, 403), refused.text
        assert "freight_volume" not in refused.text

    # A browser without a login asking for the page is sent to Airflow's login, and back after.
    page = httpx.get(f"{api_server}/conveyor/models", cookies={"_token": "not-a-token"})
    assert page.status_code == 303 and "freight_volume" not in page.text
    assert page.headers["location"].startswith("/auth/login?next=http")
    assert httpx.get(f"{api_server}{page.headers['location']}").status_code == 200

    token = httpx.post(f"{api_server}/auth/token", json={"username": USER, "password": PASSWORD}).json()[
        "access_token"
    ]
    models = httpx.get(data, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert models.status_code == 200, models.text
    freight = {m["model"]: m for m in models.json()["models"]}["freight_volume"]
    assert freight["champion"]["version"] == "1"
    assert freight["champion"]["trigger_reason"] == "manual"
    assert freight["champion"]["gate"]["promote"] == "true"
    assert [(m["action"], m["version"]) for m in freight["champion_history"]] == [("promote", "1")]

    # The UI's login keeps the token in this cookie; the page inside the UI's iframe sends it.
    page = httpx.get(f"{api_server}/conveyor/models", cookies={"_token": token}, timeout=60)
    assert page.status_code == 200, page.text
    assert 'href="/dags/freight_volume__train">Retrain' in page.text and page.text.count("<svg") >= 3

    plugins = httpx.get(f"{api_server}/api/v2/plugins", headers={"Authorization": f"Bearer {token}"}).json()
    views = [view for plugin in plugins["plugins"] for view in plugin["external_views"]]
    assert {"name": "Models", "href": "conveyor/models", "url_route": "models"}.items() <= views[0].items()
