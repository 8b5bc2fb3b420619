"""Gold for interaction pairs (``features.kind: pair_stats``), e.g. a query and a document.

Partition D holds one row per pair seen in the ``window_days`` up to D, for the target
day ``D + horizon_days``: the pair's impressions, click-through rate and mean dwell over
the window, its latest text and slice columns, and its item's age on the target day, all
computed from what had been reported by D. The day's own clicks are never a feature of
that day: they are its label.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from pipelines.config.model import ModelConfig, PairStatsFeatures
from pipelines.lakehouse.gold.keys import entity_id

if TYPE_CHECKING:
    import pandas as pd

# The interaction columns a pair_stats source must carry, and the item's publication day.
IMPRESSIONS, CLICKS, DWELL, PUBLISHED = "impressions", "clicks", "dwell_seconds", "published"


def lookback_start(as_of: date, features: PairStatsFeatures) -> date:
    return as_of - timedelta(days=features.window_days - 1)


def compute_features(history: pd.DataFrame, as_of: date, config: ModelConfig) -> pd.DataFrame:
    """Features as of ``as_of`` for every pair ``history`` shows in the window."""
    import numpy as np
    import pandas as pd

    features = config.features
    assert isinstance(features, PairStatsFeatures)
    day, keys, window = config.timestamp_column, config.entity_keys, features.window_days
    as_of_day = pd.Timestamp(as_of)
    known = history[(history["logical_date"] <= as_of_day) & (history[day] <= as_of_day)]
    known = known[known[day] > as_of_day - pd.Timedelta(days=window)]
    # A day restated in a later batch: the latest report wins.
    known = known.sort_values("logical_date", kind="stable").drop_duplicates([*keys, day], keep="last")
    target_day = pd.Timestamp(as_of + timedelta(days=features.horizon_days))

    described = [*features.text, *(c for c in config.slices if c not in keys), PUBLISHED]
    latest = known.sort_values(day, kind="stable").drop_duplicates(keys, keep="last")[[*keys, *described]]
    totals = (
        known.assign(dwell_total=known[DWELL] * known[CLICKS])
        .groupby(keys, as_index=False)[[IMPRESSIONS, CLICKS, "dwell_total"]]
        .sum()
    )
    rows = latest.merge(totals, on=keys).reset_index(drop=True)
    rows[f"impressions_{window}d"] = rows[IMPRESSIONS].astype("float64")
    rows[f"ctr_{window}d"] = rows[CLICKS] / rows[IMPRESSIONS]
    rows[f"dwell_mean_{window}d"] = np.where(
        rows[CLICKS] > 0, rows["dwell_total"] / rows[CLICKS].clip(lower=1), 0.0
    )
    rows["doc_age_days"] = (target_day - pd.to_datetime(rows[PUBLISHED])).dt.days.astype("int64")
    rows = rows.drop(columns=[IMPRESSIONS, CLICKS, "dwell_total", PUBLISHED])

    rows.insert(0, "entity_id", entity_id(rows, keys))
    rows["as_of_date"] = as_of_day
    rows[day] = target_day
    rows["event_timestamp"] = target_day.tz_localize("UTC")
    return rows.sort_values("entity_id", ignore_index=True)
