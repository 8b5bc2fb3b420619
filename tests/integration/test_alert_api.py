"""An outside alerting system starts a retrain through Airflow's REST API (the exact request
docs/operating.md shows), or through our alert receiver, Alertmanager's webhook: against a
real API server started here."""

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


RECEIVER_TOKEN = "a-token-alertmanager-sends"


def notification(*alerts: dict) -> dict:
    """Alertmanager's webhook body (version 4), as its webhook_config posts it."""
    return {"version": "4", "status": "firing", "receiver": "conveyor", "groupKey": "{}:{}",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am",
            "alerts": list(alerts)}  # fmt: skip


def alert(name: str, model: str | None, status: str = "firing") -> dict:
    labels = {"alertname": name} | ({"model": model} if model else {})
    return {"status": status, "labels": labels, "annotations": {"summary": "live error high"},
            "startsAt": "2026-11-30T10:00:00Z", "fingerprint": name}  # fmt: skip


def test_the_alert_receiver_starts_one_retrain_per_alert_and_refuses_what_it_should(tmp_path, conveyor_home):
    env = {"CONVEYOR_ALERT_RECEIVER_TOKEN": RECEIVER_TOKEN}
    login = (USER, "user", PASSWORD)
    with airflow_api_server(conveyor_home, tmp_path, login, reserialize=True, extra_env=env) as url:
        receiver = f"{url}/conveyor-alerts/alerts"
        good = {"Authorization": f"Bearer {RECEIVER_TOKEN}"}
        notify_only = alert("ConveyorDriftBreach", "freight_volume")
        notify_only["labels"]["on_breach"] = "notify"  # a check in notify mode: reported, not retrained
        firing = notification(
            alert("FreightErrorHigh", "freight_volume"),
            alert("Old", "freight_volume", "resolved"),
            notify_only,
        )

        assert httpx.post(receiver, json=firing).status_code == 401, "no credentials"
        assert httpx.post(receiver, json=firing, headers={"Authorization": "Bearer guess"}).status_code == 401
        wrong = httpx.post(receiver, json={"alerts": "many"}, headers=good)
        assert wrong.status_code == 422 and "version" in wrong.text, wrong.text
        two = notification(alert("A", "freight_volume"), alert("B", "churn"))
        unknown = httpx.post(receiver, json=two, headers=good)
        assert unknown.status_code == 422 and "names model 'churn', which is not configured" in unknown.text
        unlabelled = httpx.post(receiver, json=notification(alert("C", None)), headers=good)
        assert unlabelled.status_code == 422 and "has no `model` label" in unlabelled.text

        first = httpx.post(receiver, json=firing, headers=good)
        assert first.status_code == 200, first.text
        [run] = first.json()["runs"]
        assert run["started"] and run["run_id"].startswith("alert__FreightErrorHigh__"), run
        again = httpx.post(receiver, json=firing, headers=good).json()["runs"]
        assert [r["started"] for r in again] == [False], "the same alert that day starts nothing new"

        token = httpx.post(f"{url}/auth/token", json={"username": USER, "password": PASSWORD}).json()
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        runs = httpx.get(f"{url}/api/v2/dags/freight_volume__train/dagRuns", headers=bearer).json()[
            "dag_runs"
        ]
        assert [(r["dag_run_id"], r["conf"]) for r in runs] == [
            (run["run_id"], {"reason": "alert: FreightErrorHigh"})
        ]
