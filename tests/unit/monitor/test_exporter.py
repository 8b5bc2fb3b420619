"""The monitor's latest results as Prometheus metrics: what the alert rules read."""

from __future__ import annotations

import json

from prometheus_client.parser import text_string_to_metric_families

from pipelines.monitor.exporter import monitoring_metrics


def summary(folder, check: str, day: str, value: float, breached: bool, on_breach: str = "retrain") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{check}-{day}.json").write_text(json.dumps({
        "check": check, "as_of": day, "value": value, "threshold": 18.0, "rows": 100, "breached": breached,
        "champion_version": "3", "on_breach": on_breach, "details": {}, "report_uri": "",
    }))  # fmt: skip


def test_the_latest_check_per_model_with_its_mode(tmp_path):
    reports = tmp_path / "reports"
    summary(reports / "freight_volume", "performance", "2024-05-11", 12.0, breached=False)
    summary(reports / "freight_volume", "performance", "2024-05-12", 21.5, breached=True)
    summary(reports / "freight_volume", "drift", "2024-05-12", 0.6, breached=True, on_breach="notify")

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(
            monitoring_metrics(str(reports), ["freight_volume"]).decode()
        )
        for s in family.samples
    }
    performance = (("check", "performance"), ("model", "freight_volume"))
    assert samples[("conveyor_check_value", performance)] == 21.5, "the latest day"
    assert samples[("conveyor_check_breached", (*performance, ("on_breach", "retrain")))] == 1
    drift = (("check", "drift"), ("model", "freight_volume"), ("on_breach", "notify"))
    assert samples[("conveyor_check_breached", drift)] == 1
    assert samples[("conveyor_check_champion_version", performance)] == 3
    assert samples[("conveyor_check_as_of_timestamp_seconds", performance)] == 1715472000  # 2024-05-12 UTC
