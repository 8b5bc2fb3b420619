"""Monitoring the champion: live error against actuals, and drift of what it is asked about.

- Performance: the champion's served predictions (the prediction log) joined with the
  actuals that have arrived since (``conveyor actuals ingest``); the error over the recent
  window, overall and per slice, against the config's threshold.
- Drift: Evidently compares what the service was asked, and what it answered, with the
  champion's own test set and test predictions, found through its lineage. Large windows
  are sampled with a fixed seed.

Both write a JSON summary (and drift its HTML report) to ``reports/<model>/`` and log them
on the champion's MLflow run. The monitor DAG's sensors read exactly these results.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import fsspec

from pipelines.datasets import feature_columns, read_dataset
from pipelines.errors import MissingInputError
from pipelines.evaluate import PREDICTION, evaluate_predictions
from pipelines.lineage import from_tags
from pipelines.registry import CHAMPION, alias_version
from pipelines.serving.log import PredictionLog
from pipelines.storage import PartitionKey

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

    from pipelines.config import ModelConfig, PlatformConfig
    from pipelines.storage import Lakehouse

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

    @property
    def should_retrain(self) -> bool:
        return self.breached and not self.cooldown_active

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "should_retrain": self.should_retrain}


def _champion(client: MlflowClient, config: ModelConfig) -> tuple[str, dict[str, str], str]:
    version = alias_version(client, config.name, CHAMPION)
    if version is None:
        raise MissingInputError(f"{config.name} has no champion yet; train and promote one first")
    found = client.get_model_version(config.name, version)
    return version, from_tags(dict(found.tags)), str(found.run_id)


def _gold_window(lakehouse: Lakehouse, config: ModelConfig, first: date, last: date) -> pd.DataFrame:
    import pandas as pd

    source = config.source.name
    frames = [
        lakehouse.read_frame(PartitionKey("gold", source, day))
        for day in lakehouse.logical_dates("gold", source)
        if first <= day <= last
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


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


def _write_summary(platform: PlatformConfig, client: MlflowClient, run_id: str, result: CheckResult) -> None:
    with fsspec.open(result.report_uri.replace(".html", ".json"), "w", auto_mkdir=True) as out:
        out.write(json.dumps(result.to_dict(), indent=2, default=str))
    client.log_text(run_id, json.dumps(result.to_dict(), indent=2, default=str),
                    f"monitoring/{result.check}-{result.as_of}.json")  # fmt: skip


def check_performance(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    as_of: date,
    prediction_log: PredictionLog | None = None,
) -> CheckResult:
    """The champion's live error: what it served for the last ``window_days`` target days,
    joined with the actuals that have arrived for them (``conveyor actuals ingest``)."""
    trigger = config.triggers.performance
    version, _, run_id = _champion(client, config)
    prediction_log = prediction_log or PredictionLog(platform.serving.prediction_log_url)
    served = prediction_log.served(config.name, as_of - timedelta(days=trigger.window_days - 1), as_of)
    details: dict[str, Any] = {"window_days": trigger.window_days, "metric": trigger.metric}
    value, rows = None, 0
    if not served.empty:
        details["served_rows_by_version"] = served["model_version"].value_counts().to_dict()
        # Only the champion's own answers measure the champion.
        scored = served[served["actual"].notna() & (served["model_version"] == version)]
        rows = len(scored)
        if rows:
            evaluation = evaluate_predictions(scored.rename(columns={"actual": config.target}), config)
            value = evaluation.overall[trigger.metric]
            details |= {k: v for k, v in evaluation.overall.items() if k != "rows"}
            details["slices"] = evaluation.slices
    if rows == 0:
        details["note"] = "no served predictions with arrived actuals in the window"
    result = CheckResult(
        check="performance",
        model=config.name,
        as_of=as_of.isoformat(),
        champion_version=version,
        value=value,
        threshold=trigger.threshold,
        rows=rows,
        breached=value is not None and value > trigger.threshold,
        cooldown_active=cooldown_active(client, config, datetime.now(UTC)),
        details=details,
        report_uri=f"{platform.reports_uri}/{config.name}/performance-{as_of}.html",
    )
    _write_summary(platform, client, run_id, result)
    log.info("%s performance as of %s: %s=%s over %d served rows with actuals (threshold %s)",
             config.name, as_of, trigger.metric, value, rows, trigger.threshold)  # fmt: skip
    return result


def check_drift(
    platform: PlatformConfig,
    config: ModelConfig,
    lakehouse: Lakehouse,
    client: MlflowClient,
    as_of: date,
    *,
    window_days: int = 7,
    max_rows: int | None = 50_000,
    prediction_log: PredictionLog | None = None,
) -> CheckResult:
    """Evidently drift of what the service was asked over the last ``window_days`` (and what
    it answered) against the champion's test set (and its test predictions); writes the
    HTML report and a JSON summary.

    Requests made on day d are for target day d + horizon, so the window is on target
    days. With nothing served in the window, the gold features for it are compared
    instead (what the online store would serve), and the result says so.
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    drift = config.triggers.drift
    seed = config.model.seed
    version, lineage, run_id = _champion(client, config)
    columns = [c for c in feature_columns(config) if c not in drift.ignore]
    horizon = timedelta(days=config.features.horizon_days)
    first, last = as_of - timedelta(days=window_days - 1), as_of
    prediction_log = prediction_log or PredictionLog(platform.serving.prediction_log_url)
    current = prediction_log.served(
        config.name, first + horizon, last + horizon, max_rows=max_rows, seed=seed
    )
    source = "served"
    if current.empty:
        log.warning("%s: nothing served for target days %s .. %s; comparing gold features instead",
                    config.name, first + horizon, last + horizon)  # fmt: skip
        current, source = _gold_window(lakehouse, config, first, last), "gold"
    if current.empty:
        raise MissingInputError(f"no served requests or gold features for {config.name} in the {window_days}"
                                f" days up to {as_of}")  # fmt: skip
    if max_rows is not None:
        current = current.sample(min(len(current), max_rows), random_state=seed)
    # The reference is the champion's own test set: the most recent data it was shown to
    # be good on. (Against the training set, seasonality alone reads as drift.)
    reference = read_dataset(lineage["test_dataset_uri"])[columns]
    if max_rows is not None:
        reference = reference.sample(min(len(reference), max_rows), random_state=seed)
    metrics: list[Any] = [
        DataDriftPreset(columns=columns, method=drift.method, threshold=drift.column_threshold)
    ]
    numerical = [c for c in columns if c not in config.features.categorical]
    if source == "served":
        test_predictions = read_dataset(lineage["predictions_dataset_uri"])[PREDICTION]
        reference[PREDICTION] = test_predictions.sample(
            len(reference), replace=True, random_state=seed
        ).to_numpy()
        numerical.append(PREDICTION)
        metrics.append(ValueDrift(column=PREDICTION, method=drift.method, threshold=drift.column_threshold))
    current = current[[*columns, PREDICTION] if source == "served" else columns]
    categorical = [c for c in columns if c in config.features.categorical]
    for frame in (reference, current):
        frame[categorical] = frame[categorical].astype("string")
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    report = Report(metrics).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    share, drifted = _drift_summary(report.dict())
    details: dict[str, Any] = {"source": source, "columns": columns, "reference_rows": len(reference)}
    if source == "served":
        details["prediction_drift"] = PREDICTION in drifted
    details["drifted_columns"] = [c for c in drifted if c != PREDICTION]
    report_uri = f"{platform.reports_uri}/{config.name}/drift-{as_of}.html"
    with fsspec.open(report_uri, "w", auto_mkdir=True) as out:
        out.write(report.get_html_str(as_iframe=False))
    client.log_artifact(run_id, report_uri, "monitoring")
    result = CheckResult(
        check="drift",
        model=config.name,
        as_of=as_of.isoformat(),
        champion_version=version,
        value=share,
        threshold=drift.share_threshold,
        rows=len(current),
        breached=share >= drift.share_threshold,
        cooldown_active=cooldown_active(client, config, datetime.now(UTC)),
        details=details,
        report_uri=report_uri,
    )
    _write_summary(platform, client, run_id, result)
    log.info("%s drift as of %s (%s): share %.2f, drifted %s", config.name, as_of, source, share, drifted)
    return result


def _drift_summary(report: dict[str, Any]) -> tuple[float, list[str]]:
    share, drifted = 0.0, []
    for metric in report["metrics"]:
        kind, settings, value = metric["config"]["type"], metric["config"], metric["value"]
        if kind.endswith("DriftedColumnsCount"):
            share = float(value["share"])
        elif kind.endswith("ValueDrift"):
            # p-value methods drift below the threshold; distance methods above it
            is_p_value = "p_value" in settings["method"]
            if (
                (float(value) < settings["threshold"])
                if is_p_value
                else (float(value) >= settings["threshold"])
            ):
                drifted.append(settings["column"])
    return share, drifted
