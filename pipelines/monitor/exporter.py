"""The monitor's latest results as Prometheus metrics, for alert rules to read
(``deploy/prometheus/rules.yml``): per model and check, the latest value, its threshold,
whether it breached (labelled with the trigger's ``on_breach``: a notify-mode check sends
its own alert, so the rules leave it alone), the day it measured and the champion it
measured. Read from the JSON summaries the checks write; served by the alert receiver's
``/metrics``."""

from __future__ import annotations

from datetime import UTC, datetime

from pipelines.monitor.history import check_history


def monitoring_metrics(reports_uri: str, models: list[str]) -> bytes:
    """The metrics in Prometheus's text format."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    registry = CollectorRegistry()
    labels = ["model", "check"]
    value = Gauge("conveyor_check_value", "The check's latest value", labels, registry=registry)
    threshold = Gauge(
        "conveyor_check_threshold", "The threshold it is held against", labels, registry=registry
    )
    breached = Gauge(
        "conveyor_check_breached", "1 when the latest check breached; on_breach: the trigger's mode",
        [*labels, "on_breach"], registry=registry,
    )  # fmt: skip
    measured = Gauge(
        "conveyor_check_as_of_timestamp_seconds",
        "The day the latest check measured",
        labels,
        registry=registry,
    )
    champion = Gauge("conveyor_check_champion_version", "The version it measured", labels, registry=registry)
    for model in models:
        for check, points in check_history(reports_uri, model).items():
            if not points:
                continue
            latest = points[-1]
            if latest["value"] is not None:
                value.labels(model, check).set(latest["value"])
            threshold.labels(model, check).set(latest["threshold"])
            breached.labels(model, check, latest["on_breach"]).set(int(latest["breached"]))
            day = datetime.fromisoformat(latest["as_of"]).replace(tzinfo=UTC)
            measured.labels(model, check).set(day.timestamp())
            champion.labels(model, check).set(float(latest["champion_version"] or 0))
    return generate_latest(registry)
