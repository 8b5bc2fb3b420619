"""An outside alerting system starts a retrain through Airflow's REST API: the exact request
docs/operating.md shows, against a real API server started here."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support import airflow_api_server

USER, PASSWORD = "alertmanager", "a-long-random-secret"


@pytest.fixture
def api_server(tmp_path: Path, conveyor_home: Path):
    with airflow_api_server(conveyor_home, tmp_path, (USER, "user", PASSWORD), reserialize=True) as url:
        yield url


def test_an_alert_starts_a_retrain_once_with_its_reason(api_server):
    token = httpx.post(f"{api_server}/auth/token", json={"username": USER, "password": PASSWORD}).json()[
        "access_token"
    ]
    headers = {"Authorization": f"Bearer {token}"}
    alert = {
        "logical_date": None,
        "dag_run_id": "alert__FreightErrorHigh__2026-11-25",  # one run per alert and day
        "conf": {"reason": "alert: FreightErrorHigh"},
    }
    endpoint = f"{api_server}/api/v2/dags/freight_volume__train/dagRuns"

    created = httpx.post(endpoint, json=alert, headers=headers)
    assert created.status_code == 200, created.text
    run = created.json()
    assert (run["state"], run["conf"], run["triggered_by"]) == ("queued", alert["conf"], "rest_api")

    again = httpx.post(endpoint, json=alert, headers=headers)
    assert again.status_code == 409, "the same alert on the same day must not start a second run"
    assert httpx.post(endpoint, json=alert).status_code == 401, "no token, no run"
