"""What every monitoring check shares: its result, the champion it judges, the retrain
cooldown, and where the result is written."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import fsspec

from pipelines.errors import AlertDeliveryError, ConfigError, ConveyorError, MissingInputError
from pipelines.release.registry import CHAMPION, alias_version
from pipelines.training.lineage import from_tags

if TYPE_CHECKING:
    from datetime import datetime

    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig

log = logging.getLogger("conveyor.monitor")
TRIGGERED_REASONS = ("performance", "data shift")


@dataclass(frozen=True)
class CheckResult:
    """One monitoring check: its value against its threshold, and whether to retrain."""

    check: str
    model: str
    as_of: str
    champion_version: str
    value: float | None
    threshold: float
    rows: int
    breached: bool
    cooldown_active: bool
    details: dict[str, Any]
    report_uri: str
    on_breach: str = "retrain"  # the trigger's mode: retrain, or notify only
    notified: str | None = None  # where the breach was sent, in notify mode

    @property
    def should_retrain(self) -> bool:
        return self.breached and not self.cooldown_active and self.on_breach == "retrain"

    @property
    def why(self) -> str:
        """What the sensor says when it starts nothing."""
        if not self.breached:
            return "no data yet" if self.value is None else f"{self.value:.3f} within {self.threshold}"
        if self.on_breach == "notify":
            return f"breached; sent to {self.notified} (on_breach: notify), no retrain"
        return "breached, in cooldown" if self.cooldown_active else "breached"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "should_retrain": self.should_retrain, "why": self.why}


def champion_of(client: MlflowClient, config: ModelConfig) -> tuple[str, dict[str, str], str]:
    """The champion's version, lineage and run id; MissingInputError when there is none."""
    version = alias_version(client, config.name, CHAMPION)
    if version is None:
        raise MissingInputError(f"{config.name} has no champion yet; train and promote one first")
    found = client.get_model_version(config.name, version)
    return version, from_tags(dict(found.tags)), str(found.run_id)


def cooldown_active(client: MlflowClient, config: ModelConfig, now: datetime) -> bool:
    """True when a triggered (not manual) training of the model started within the cooldown."""
    experiment = client.get_experiment_by_name(config.name)
    if experiment is None or config.triggers.cooldown_minutes == 0:
        return False
    since = now - timedelta(minutes=config.triggers.cooldown_minutes)
    recent = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"attributes.start_time >= {int(since.timestamp() * 1000)}",
        max_results=200,
    )
    return any(run.data.tags.get("conveyor.trigger_reason") in TRIGGERED_REASONS for run in recent)


def finish_check(
    platform: PlatformConfig, client: MlflowClient, run_id: str, result: CheckResult
) -> CheckResult:
    """Send a breach in notify mode, then write the summary (saying where it went)."""
    delivery_error = None
    if result.breached and result.on_breach == "notify":
        try:
            result = replace(result, notified=send_alert(platform, result))
        except ConveyorError as error:
            delivery_error = error
    write_summary(client, run_id, result)
    if delivery_error is not None:
        raise delivery_error
    return result


def send_alert(platform: PlatformConfig, result: CheckResult) -> str:
    """POST the breach to the platform's ``alert_webhook_url`` in Alertmanager's alert
    format (its /api/v2/alerts takes it as it is); returns the URL."""
    import httpx

    url = platform.alert_webhook_url
    trigger = f"triggers.{result.check}.on_breach"
    if not url:
        raise ConfigError(
            f"{result.model}: {trigger} is notify, but the platform config has no alert_webhook_url;"
            " set it (Alertmanager's /api/v2/alerts or a webhook) or set the trigger back to retrain"
        )
    alert = {
        "labels": {"alertname": f"Conveyor{result.check.title()}Breach", "model": result.model,
                   "check": result.check, "severity": "warning", "on_breach": "notify"},
        "annotations": {
            "summary": f"{result.model} v{result.champion_version} {result.check} {result.value:.3f}"
                       f" breached {result.threshold} as of {result.as_of}",
            "report": result.report_uri,
        },
    }  # fmt: skip
    try:
        httpx.post(url, json=[alert], timeout=10).raise_for_status()
    except httpx.HTTPError as error:
        raise AlertDeliveryError(
            f"{result.model}: the {result.check} breach could not be sent to {url} ({error});"
            f" it is in {result.report_uri}. The check runs again at the next monitor run."
        ) from error
    log.warning("%s %s breach sent to %s", result.model, result.check, url)
    return url


def write_summary(client: MlflowClient, run_id: str, result: CheckResult) -> None:
    """The result as JSON next to its report, with a chart of this check's history up to
    it (``<check>-<day>.svg``, the Models view's chart), both also on the champion's run."""
    with fsspec.open(result.report_uri.replace(".html", ".json"), "w", auto_mkdir=True) as out:
        out.write(json.dumps(result.to_dict(), indent=2, default=str))
    client.log_text(run_id, json.dumps(result.to_dict(), indent=2, default=str),
                    f"monitoring/{result.check}-{result.as_of}.json")  # fmt: skip
    chart = history_chart(result)
    with fsspec.open(result.report_uri.replace(".html", ".svg"), "w", auto_mkdir=True) as out:
        out.write(chart)
    client.log_text(run_id, chart, f"monitoring/{result.check}-{result.as_of}.svg")


def history_chart(result: CheckResult) -> str:
    """This check's value per day so far (from the summaries written before it, and this
    one), breaches in red, against the threshold."""
    from pipelines.monitor.history import check_chart, check_history

    reports_uri = result.report_uri.rsplit("/", 2)[0]
    points = [p for p in check_history(reports_uri, result.model)[result.check] if p["as_of"] <= result.as_of]
    what = "drift share" if result.check == "drift" else f"live {result.details.get('metric', 'metric')}"
    title = f"{result.model}: {what} by day (red: breached)"
    return check_chart(points, title=title, threshold=result.threshold)
