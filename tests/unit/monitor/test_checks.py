"""Each monitoring run saves a chart of its check's history next to its summary and on
the champion's MLflow run: the plot an operator looks at instead of reading JSON."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import mlflow
import pytest

from pipelines.errors import AlertDeliveryError, ConfigError
from pipelines.monitor.checks import CheckResult, cooldown_active, finish_check, write_summary
from tests.support import free_port


def result(reports: str, day: str, value: float, breached: bool) -> CheckResult:
    return CheckResult(
        check="drift", model="search_relevance", as_of=day, champion_version="1", value=value,
        threshold=0.3, rows=400, breached=breached, cooldown_active=False, details={},
        report_uri=f"{reports}/search_relevance/drift-{day}.html",
    )  # fmt: skip


def champion_run(tmp_path) -> tuple[mlflow.MlflowClient, str]:
    """A tracking store in ``tmp_path`` and a run standing in for the champion's."""
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.create_experiment("m", artifact_location=str(tmp_path / "a"))
    return client, client.create_run(experiment).info.run_id


def test_each_run_saves_its_checks_history_as_a_chart_beside_it_and_on_the_run(tmp_path):
    client, run_id = champion_run(tmp_path)
    reports = str(tmp_path / "reports")
    for day, value, breached in (
        ("2024-02-10", 0.1, False),
        ("2024-02-12", 0.6, True),
        ("2024-02-11", 0.2, False),
    ):
        write_summary(client, run_id, result(reports, day, value, breached))

    chart = (tmp_path / "reports/search_relevance/drift-2024-02-11.svg").read_text()
    assert chart.startswith("<svg") and "drift share by day" in chart
    assert "2024-02-10" in chart and "2024-02-11" in chart and "2024-02-12" not in chart, (
        "history up to its day"
    )
    last = (tmp_path / "reports/search_relevance/drift-2024-02-12.svg").read_text()
    assert "2024-02-12" in last and "threshold" in last
    logged = {f.path for f in client.list_artifacts(run_id, "monitoring")}
    assert "monitoring/drift-2024-02-12.svg" in logged and "monitoring/drift-2024-02-12.json" in logged


def test_a_breach_within_the_cooldown_of_a_triggered_training_starts_nothing(tmp_path, freight_config):
    """cooldown_minutes: 60. Only triggered trainings (performance, data shift) count, and only
    those started within the last hour."""
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    experiment = client.create_experiment(freight_config.name, artifact_location=str(tmp_path / "a"))
    now = datetime(2024, 5, 12, 12, 0, tzinfo=UTC)

    def started(minutes_ago: int, reason: str) -> None:
        at = int((now - timedelta(minutes=minutes_ago)).timestamp() * 1000)
        client.create_run(experiment, start_time=at, tags={"conveyor.trigger_reason": reason})

    assert not cooldown_active(client, freight_config, now), "no training yet"
    started(90, "data shift")
    assert not cooldown_active(client, freight_config, now), "a triggered training 90 minutes ago"
    started(5, "manual")
    assert not cooldown_active(client, freight_config, now), "a person's training does not hold triggers back"
    started(59, "performance")
    assert cooldown_active(client, freight_config, now), "a triggered training 59 minutes ago"
    assert not cooldown_active(client, freight_config, now + timedelta(minutes=2)), "and two minutes later"


class Receiver(ThreadingHTTPServer):
    """A webhook on a free local port that keeps what it was sent."""

    def __init__(self) -> None:
        received: list = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.received = received
        self.url = f"http://127.0.0.1:{self.server_address[1]}/api/v2/alerts"
        threading.Thread(target=self.serve_forever, daemon=True).start()


def test_in_notify_mode_a_breach_is_sent_in_alertmanagers_format_and_starts_nothing(platform, tmp_path):
    client, run_id = champion_run(tmp_path)
    reports = str(tmp_path / "reports")
    receiver = Receiver()
    notifying = platform.model_copy(update={"alert_webhook_url": receiver.url})
    try:
        breach = replace(result(reports, "2024-05-12", 0.6, breached=True), on_breach="notify")
        sent = finish_check(notifying, client, run_id, breach)
        healthy = replace(result(reports, "2024-05-13", 0.1, breached=False), on_breach="notify")
        quiet = finish_check(notifying, client, run_id, healthy)
    finally:
        receiver.shutdown()

    assert not sent.should_retrain and sent.notified == receiver.url
    assert "sent to http://127.0.0.1" in sent.why and not quiet.should_retrain
    [[alert]] = receiver.received  # the healthy check sent nothing
    labels = {"alertname": "ConveyorDriftBreach", "model": "search_relevance", "check": "drift"}
    assert alert["labels"] == {**labels, "severity": "warning", "on_breach": "notify"}
    assert (
        alert["annotations"]["report"] == breach.report_uri
        and "0.600 breached 0.3" in alert["annotations"]["summary"]
    )
    summary = json.loads(Path(reports, "search_relevance", "drift-2024-05-12.json").read_text())
    assert summary["notified"] == receiver.url and summary["should_retrain"] is False
    # The same breach in retrain mode starts a training.
    assert replace(breach, on_breach="retrain").should_retrain


def test_a_breach_that_cannot_be_sent_fails_the_check_and_keeps_its_summary(platform, tmp_path):
    client, run_id = champion_run(tmp_path)
    reports = str(tmp_path / "reports")
    breach = replace(result(reports, "2024-05-12", 0.6, breached=True), on_breach="notify")
    with pytest.raises(ConfigError, match="no alert_webhook_url; set it"):
        finish_check(platform, client, run_id, breach)
    nowhere = f"http://127.0.0.1:{free_port()}/api/v2/alerts"  # nothing listens there
    with pytest.raises(AlertDeliveryError, match=r"could not be sent to http://127\.0\.0\.1"):
        finish_check(platform.model_copy(update={"alert_webhook_url": nowhere}), client, run_id, breach)
    assert Path(reports, "search_relevance", "drift-2024-05-12.json").exists()
