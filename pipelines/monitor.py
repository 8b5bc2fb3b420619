"""Monitoring the champion: live error against actuals, and drift of what it is asked about.

- Performance: the champion scores the gold rows of the recent window's target days, the
  features it would have been served, and the scores are joined with the actuals that
  have been reported since. The error over the window is compared with the config's
  threshold.
- Drift: Evidently compares the features of the recent window with the champion's own
  test set, found through its lineage. Large windows are sampled with a fixed seed.

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

from pipelines.datasets import feature_columns, label_rows, read_dataset
from pipelines.errors import MissingInputError
from pipelines.evaluate import regression_metrics
from pipelines.features import ENTITY_ID, EVENT_TIMESTAMP
from pipelines.lineage import from_tags
from pipelines.registry import CHAMPION, alias_version
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
    platform: PlatformConfig, config: ModelConfig, lakehouse: Lakehouse, client: MlflowClient, as_of: date
) -> CheckResult:
    """The champion's error over the last ``window_days`` target days with known actuals."""
    import mlflow

    trigger = config.triggers.performance
    version, _, run_id = _champion(client, config)
    horizon = timedelta(days=config.features.horizon_days)
    window = timedelta(days=trigger.window_days)
    gold = _gold_window(lakehouse, config, as_of - window - horizon, as_of - horizon - timedelta(days=1))
    details: dict[str, Any] = {"window_days": trigger.window_days, "metric": trigger.metric}
    value, rows = None, 0
    if not gold.empty:
        labels = label_rows(lakehouse, config, as_of)
        joined = gold.merge(labels, on=[ENTITY_ID, EVENT_TIMESTAMP], how="inner")
        rows = len(joined)
        if rows:
            model = mlflow.pyfunc.load_model(f"models:/{config.name}@{CHAMPION}")
            predicted = model.predict(joined[feature_columns(config)]).astype("float64")
            metrics = regression_metrics(joined[config.target].to_numpy(dtype="float64"), predicted)
            value = metrics[trigger.metric]
            details |= {k: v for k, v in metrics.items() if k != "rows"}
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
    log.info("%s performance as of %s: %s=%s over %d rows (threshold %s)", config.name, as_of,
             trigger.metric, value, rows, trigger.threshold)  # fmt: skip
    return result


def check_drift(
    platform: PlatformConfig,
    config: ModelConfig,
    lakehouse: Lakehouse,
    client: MlflowClient,
    as_of: date,
    *,
    window_days: int = 7,
    max_rows: int = 50_000,
) -> CheckResult:
    """Evidently data drift of the last ``window_days`` of features against the champion's
    test set; writes the HTML report and a JSON summary."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    drift = config.triggers.drift
    version, lineage, run_id = _champion(client, config)
    columns = [c for c in feature_columns(config) if c not in drift.ignore]
    # The reference is the champion's own test set: the most recent data it was shown to
    # be good on. (Against the training set, seasonality alone reads as drift.)
    reference = read_dataset(lineage["test_dataset_uri"])[columns]
    current = _gold_window(lakehouse, config, as_of - timedelta(days=window_days - 1), as_of)
    if current.empty:
        raise MissingInputError(f"no gold features for {config.name} in the {window_days} days up to {as_of}")
    current = current[columns]
    # A fixed-seed sample keeps a drift check on a million rows at seconds.
    reference = reference.sample(min(len(reference), max_rows), random_state=config.model.seed)
    current = current.sample(min(len(current), max_rows), random_state=config.model.seed)
    categorical = [c for c in columns if c in config.features.categorical]
    definition = DataDefinition(
        numerical_columns=[c for c in columns if c not in categorical], categorical_columns=categorical
    )
    for frame in (reference, current):
        frame[categorical] = frame[categorical].astype("string")
    preset = DataDriftPreset(columns=columns, method=drift.method, threshold=drift.column_threshold)
    report = Report([preset]).run(
        current_data=Dataset.from_pandas(current, data_definition=definition),
        reference_data=Dataset.from_pandas(reference, data_definition=definition),
    )
    share, drifted = _drift_summary(report.dict())
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
        details={"drifted_columns": drifted, "columns": columns, "reference_rows": len(reference)},
        report_uri=report_uri,
    )
    _write_summary(platform, client, run_id, result)
    log.info("%s drift as of %s: share %.2f, drifted %s", config.name, as_of, share, drifted)
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
