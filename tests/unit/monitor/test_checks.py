"""Each monitoring run saves a chart of its check's history next to its summary and on
the champion's MLflow run: the plot an operator looks at instead of reading JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import mlflow

from pipelines.monitor.checks import CheckResult, cooldown_active, write_summary


def result(reports: str, day: str, value: float, breached: bool) -> CheckResult:
    return CheckResult(
        check="drift", model="search_relevance", as_of=day, champion_version="1", value=value,
        threshold=0.3, rows=400, breached=breached, cooldown_active=False, details={},
        report_uri=f"{reports}/search_relevance/drift-{day}.html",
    )  # fmt: skip


def test_each_run_saves_its_checks_history_as_a_chart_beside_it_and_on_the_run(tmp_path):
    client = mlflow.MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    run_id = client.create_run(
        client.create_experiment("m", artifact_location=str(tmp_path / "a"))
    ).info.run_id
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
