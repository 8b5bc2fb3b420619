"""Live performance: the champion's served predictions joined with the actuals that arrived
for them, scored as the test set was (``evaluate_predictions``), overall and per slice.

A regression model's rows are scored one by one. A ranking model's rows are regrouped
into the result lists they were served in (the query key and the target day), and scored
per list (NDCG@10, MRR). Slice columns the model does not read as features, and so the
prediction log does not hold (a search's topic and language), come from what silver
recorded with the actuals.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipelines.features.store import ENTITY_ID, EVENT_TIMESTAMP
from pipelines.lakehouse.gold.keys import SEPARATOR
from pipelines.lakehouse.storage import Lakehouse
from pipelines.monitor.actuals import slices_from_silver
from pipelines.monitor.checks import CheckResult, champion_of, cooldown_active, finish_check
from pipelines.serving.log import PredictionLog
from pipelines.training.metrics import evaluate_predictions, is_better

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig

log = logging.getLogger("conveyor.monitor")


def live_rows(served: pd.DataFrame, config: ModelConfig, version: str) -> pd.DataFrame:
    """The rows of ``version`` in ``served`` (``PredictionLog.served``) that have an actual,
    in the shape ``evaluate_predictions`` reads: the actual in the target column, and for
    a ranking model one row per pair and day, with the query key and the day of its list."""
    scored = served[served["actual"].notna() & (served["model_version"] == version)]
    scored = scored.rename(columns={"actual": config.target})
    if config.ranking is None or scored.empty:
        return scored
    # A pair asked about twice for one day is one result in its list: the last answer stands.
    scored = scored.drop_duplicates([ENTITY_ID, "target_date"], keep="last")
    keys = scored[ENTITY_ID].str.split(SEPARATOR, n=len(config.entity_keys) - 1, expand=True)
    query = keys[config.entity_keys.index(config.ranking.query_key)]
    return scored.assign(**{config.ranking.query_key: query, EVENT_TIMESTAMP: scored["target_date"]})


def join_slices(scored: pd.DataFrame, slices: pd.DataFrame) -> pd.DataFrame:
    """``scored`` with the slice columns of ``slices`` (``entity_id``, ``target_date``, ...);
    a row silver has no record of keeps no slice value and counts only overall."""
    return scored.merge(slices, on=[ENTITY_ID, "target_date"], how="left", validate="many_to_one")


def with_silver_slices(
    scored: pd.DataFrame, platform: PlatformConfig, config: ModelConfig, lakehouse: Lakehouse | None,
    first: date, last: date,
) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """``scored`` with the slice columns the prediction log lacks (those the model does not
    read as features), from silver; and which they were."""
    missing = [c for c in config.slices if c not in scored.columns]
    if not missing or scored.empty:
        return scored, []
    lakehouse = lakehouse or Lakehouse(platform.lakehouse_uri)
    return join_slices(scored, slices_from_silver(lakehouse, config, missing, first, last)), missing


def check_performance(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    as_of: date,
    prediction_log: PredictionLog | None = None,
    lakehouse: Lakehouse | None = None,
) -> CheckResult:
    """The champion's live error (or ranking quality): what it served for the last
    ``window_days`` target days, joined with the actuals that have arrived for them
    (``conveyor actuals ingest``). Breached when the metric is worse than the threshold:
    above it for an error, below it for NDCG or MRR. Writes the JSON summary; raises
    MissingInputError without a champion."""
    trigger = config.triggers.performance
    version, _, run_id = champion_of(client, config)
    prediction_log = prediction_log or PredictionLog(platform.serving.prediction_log_url)
    first = as_of - timedelta(days=trigger.window_days - 1)
    served = prediction_log.served(config.name, first, as_of)
    details: dict[str, Any] = {"window_days": trigger.window_days, "metric": trigger.metric}
    value, rows = None, 0
    if not served.empty:
        details["served_rows_by_version"] = served["model_version"].value_counts().to_dict()
        # Only the champion's own answers measure the champion.
        scored = live_rows(served, config, version)
        scored, from_silver = with_silver_slices(scored, platform, config, lakehouse, first, as_of)
        if from_silver:
            details["slices_from_silver"] = from_silver
        rows = len(scored)
        if rows:
            evaluation = evaluate_predictions(scored, config)
            measured = evaluation.overall[trigger.metric]
            # NaN: no result list had anything relevant in it, which says nothing of the ranking.
            value = None if math.isnan(measured) else measured
            details |= {k: v for k, v in evaluation.overall.items() if k != "rows"}
            details["slices"] = evaluation.slices
    if value is None:
        details["note"] = (
            "no served predictions with arrived actuals in the window"
            if rows == 0
            else f"no result list with a relevant result: {trigger.metric} is undefined"
        )
    result = CheckResult(
        check="performance",
        model=config.name,
        as_of=as_of.isoformat(),
        champion_version=version,
        value=value,
        threshold=trigger.threshold,
        rows=rows,
        # Worse than the threshold: the threshold would beat the live value.
        breached=value is not None and is_better(trigger.metric, trigger.threshold, value),
        cooldown_active=cooldown_active(client, config, datetime.now(UTC)),
        details=details,
        report_uri=f"{platform.reports_uri}/{config.name}/performance-{as_of}.html",
        on_breach=trigger.on_breach,
    )
    result = finish_check(platform, client, run_id, result)
    log.info("%s performance as of %s: %s=%s over %d served rows with actuals (threshold %s)",
             config.name, as_of, trigger.metric, value, rows, trigger.threshold)  # fmt: skip
    return result
