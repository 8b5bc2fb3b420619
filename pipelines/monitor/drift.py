"""Drift: Evidently compares what the service was asked, and what it answered, with the
champion's own test set and test predictions, found through its lineage.

Numeric and categorical features are compared row for row (``triggers.drift.method``, PSI
by default); text features with Evidently's text drift, on the texts the champion never
saw (see ``text_drift``). Each counts as one column in the share of drifted columns that
is checked against ``triggers.drift.share_threshold``. Large windows are sampled with a
fixed seed.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import fsspec

from pipelines.errors import MissingInputError
from pipelines.features.datasets import read_dataset
from pipelines.lakehouse.storage import PartitionKey
from pipelines.monitor.checks import CheckResult, champion_of, cooldown_active, finish_check
from pipelines.monitor.text_drift import TEXT_METHOD, text_samples, with_texts
from pipelines.serving.log import PredictionLog
from pipelines.training.metrics import PREDICTION

if TYPE_CHECKING:
    import pandas as pd
    from evidently.core.report import Snapshot
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig
    from pipelines.lakehouse.storage import Lakehouse

log = logging.getLogger("conveyor.monitor")


def _gold_window(lakehouse: Lakehouse, config: ModelConfig, first: date, last: date) -> pd.DataFrame:
    import pandas as pd

    source = config.source.name
    frames = [
        lakehouse.read_frame(PartitionKey("gold", source, day))
        for day in lakehouse.logical_dates("gold", source)
        if first <= day <= last
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _known_texts(lineage: dict[str, str], columns: list[str]) -> dict[str, pd.Series]:
    """Every text the champion was trained or tested on, per text column."""
    import pandas as pd

    if not columns:
        return {}
    sets = [read_dataset(lineage[f"{kind}_dataset_uri"])[columns] for kind in ("train", "test")]
    return {column: pd.concat([s[column] for s in sets]).drop_duplicates() for column in columns}


def _current_window(
    prediction_log: PredictionLog,
    lakehouse: Lakehouse,
    config: ModelConfig,
    as_of: date,
    window_days: int,
    max_rows: int | None,
) -> tuple[pd.DataFrame, str]:
    """What was served for the window's target days, else the gold features of its days."""
    horizon = timedelta(days=config.features.horizon_days)
    first, last = as_of - timedelta(days=window_days - 1), as_of
    current = prediction_log.served(
        config.name, first + horizon, last + horizon, max_rows=max_rows, seed=config.model.seed
    )
    if not current.empty:
        return current, "served"
    log.warning("%s: nothing served for target days %s .. %s; comparing gold features instead",
                config.name, first + horizon, last + horizon)  # fmt: skip
    current = _gold_window(lakehouse, config, first, last)
    if current.empty:
        raise MissingInputError(f"no served requests or gold features for {config.name} in the {window_days}"
                                f" days up to {as_of}")  # fmt: skip
    return current, "gold"


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, config: ModelConfig, columns: list[str]
) -> tuple[Snapshot, list[str]]:
    """Evidently's drift of ``columns`` (typed by the config's features) and, where both
    frames have it, of the prediction; returns the report and the columns that drifted.
    Text columns hold what ``text_drift`` chose to compare."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    drift, features = config.triggers.drift, config.features
    numerical = [c for c in columns if c in features.numeric]
    metrics: list[Any] = [
        DataDriftPreset(
            columns=columns,
            method=drift.method,
            threshold=drift.column_threshold,
            text_method=TEXT_METHOD,
            text_threshold=drift.text_confidence,
            drift_share=drift.share_threshold,
        )
    ]
    if PREDICTION in current and PREDICTION in reference:
        numerical.append(PREDICTION)
        metrics.append(ValueDrift(column=PREDICTION, method=drift.method, threshold=drift.column_threshold))
    definition = DataDefinition(
        numerical_columns=numerical,
        categorical_columns=[c for c in columns if c in features.categorical],
        text_columns=[c for c in columns if c in features.text],
    )
    with warnings.catch_warnings():
        # The text classifier stops early on small windows by design; its warning is noise.
        warnings.filterwarnings("ignore", message="Maximum number of iteration reached")
        report = Report(metrics, include_tests=True).run(
            current_data=Dataset.from_pandas(current, data_definition=definition),
            reference_data=Dataset.from_pandas(reference, data_definition=definition),
        )
    return report, drifted_columns(report.dict())


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
    instead (what the online store would serve), and the result says so. Raises
    MissingInputError with neither, or without a champion.
    """
    drift, features, seed = config.triggers.drift, config.features, config.model.seed
    version, lineage, run_id = champion_of(client, config)
    columns = [c for c in [*features.numeric, *features.categorical, *features.text] if c not in drift.ignore]
    prediction_log = prediction_log or PredictionLog(platform.serving.prediction_log_url)
    current, source = _current_window(prediction_log, lakehouse, config, as_of, window_days, max_rows)
    if max_rows is not None:
        current = current.sample(min(len(current), max_rows), random_state=seed)
    # The reference is the champion's own test set: the most recent data it was shown to
    # be good on. (Against the training set, seasonality alone reads as drift.)
    reference = read_dataset(lineage["test_dataset_uri"])[columns]
    if max_rows is not None:
        reference = reference.sample(min(len(reference), max_rows), random_state=seed)
    if source == "served":
        test_predictions = read_dataset(lineage["predictions_dataset_uri"])[PREDICTION]
        reference[PREDICTION] = test_predictions.sample(
            len(reference), replace=True, random_state=seed
        ).to_numpy()
    current = current[[*columns, PREDICTION] if source == "served" else columns]
    rows, reference_rows = len(current), len(reference)
    categorical = [c for c in columns if c in features.categorical]
    for frame in (reference, current):
        frame[categorical] = frame[categorical].astype("string")
    text = [c for c in features.text if c in columns]
    known, unseen, samples = text_samples(
        _known_texts(lineage, text), current, min_new_texts=drift.min_new_texts, limit=max_rows, seed=seed
    )
    unjudged = [c for c, sample in samples.items() if not sample.judged]
    report, drifted = drift_report(
        with_texts(reference, known).drop(columns=unjudged),
        with_texts(current, unseen).drop(columns=unjudged),
        config,
        [c for c in columns if c not in unjudged],
    )
    # A text column with too little new text to judge is one that did not drift.
    feature_drifted = [c for c in drifted if c != PREDICTION]
    share = len(feature_drifted) / len(columns)
    details: dict[str, Any] = {"source": source, "columns": columns, "reference_rows": reference_rows}
    if source == "served":
        details["prediction_drift"] = PREDICTION in drifted
    details["drifted_columns"] = feature_drifted
    details["scores"] = column_scores(report.dict())
    if text:
        details["text"] = {c: asdict(s) for c, s in samples.items()}
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
        rows=rows,
        breached=share >= drift.share_threshold,
        cooldown_active=cooldown_active(client, config, datetime.now(UTC)),
        details=details,
        report_uri=report_uri,
        on_breach=drift.on_breach,
    )
    result = finish_check(platform, client, run_id, result)
    log.info("%s drift as of %s (%s): share %.2f, drifted %s", config.name, as_of, source, share, drifted)
    return result


def drifted_columns(report: dict[str, Any]) -> list[str]:
    """The columns whose drift test failed, as Evidently decided: p-value methods drift
    below their threshold, distances above it, text against random classifiers."""
    return [
        test["metric_config"]["params"]["column"]
        for test in report["tests"]
        if test["metric_config"]["params"]["type"].endswith("ValueDrift") and test["status"] == "FAIL"
    ]


def column_scores(report: dict[str, Any]) -> dict[str, float]:
    """Each column's drift score (PSI, p-value, or a text classifier's ROC AUC)."""
    return {
        metric["config"]["column"]: round(float(metric["value"]), 4)
        for metric in report["metrics"]
        if metric["config"]["type"].endswith("ValueDrift")
    }
