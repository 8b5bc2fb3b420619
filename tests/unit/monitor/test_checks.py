"""Each monitoring run saves a chart of its check's history next to its summary and on
the champion's MLflow run: the plot an operator looks at instead of reading JSON."""

from __future__ import annotations

import mlflow

from pipelines.monitor.checks import CheckResult, write_summary


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
