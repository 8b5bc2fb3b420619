"""An outside alerting system starts a retrain through Airflow's REST API: the exact request
the README shows, against a real API server started here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]
USER, PASSWORD = "alertmanager", "a-long-random-secret"


@pytest.fixture
def api_server(tmp_path: Path, conveyor_home: Path):
    passwords = tmp_path / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(conveyor_home),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:user",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
    }
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([airflow, "dags", "reserialize"], env=env, check=True, capture_output=True)
    port = free_port()
    log = (tmp_path / "api-server.log").open("w")
    server = subprocess.Popen([airflow, "api-server", "--port", str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/v2/monitor/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            raise AssertionError(
                f"the API server did not come up: {(tmp_path / 'api-server.log').read_text()[-2000:]}"
            )
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


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
