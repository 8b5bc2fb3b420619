"""Gold for a time series (``features.kind: lags``): per-route lags and rolling means of
the target, and the target day's calendar.

Partition D holds one row per active route for the target day ``D + horizon_days``: the
day a forecast made on D is for, computed only from what had been reported by D.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from pipelines.config.model import LagFeatures, ModelConfig
from pipelines.lakehouse.gold.keys import entity_id

if TYPE_CHECKING:
    import pandas as pd


def lookback_start(as_of: date, features: LagFeatures) -> date:
    """The earliest service day any feature as of ``as_of`` can read."""
    target = as_of + timedelta(days=features.horizon_days)
    earliest_lag = target - timedelta(days=max(features.lags_days))
    earliest_window = as_of - timedelta(days=max(features.rolling_mean_days) - 1)
    return min(earliest_lag, earliest_window)


def compute_features(history: pd.DataFrame, as_of: date, config: ModelConfig) -> pd.DataFrame:
    """Features as of ``as_of`` for every route in ``history``.

    ``history`` has the source columns plus ``logical_date`` (the day each row was
    reported). Rows reported after ``as_of``, or dated after it, are ignored.
    """
    import holidays
    import pandas as pd

    features = config.features
    assert isinstance(features, LagFeatures)
    day, target = config.timestamp_column, config.target
    keys = config.entity_keys
    as_of_day = pd.Timestamp(as_of)
    known = history[(history["logical_date"] <= as_of_day) & (history[day] <= as_of_day)]
    # A day restated in a later batch: the latest report wins.
    known = known.sort_values("logical_date").drop_duplicates([*keys, day], keep="last")
    target_day = pd.Timestamp(as_of + timedelta(days=features.horizon_days))

    latest = known.sort_values(day).drop_duplicates(keys, keep="last")
    rows = latest[[*keys, *(c for c in config.slices if c not in keys)]].reset_index(drop=True)
    for lag in features.lags_days:
        lagged = known.loc[known[day] == target_day - pd.Timedelta(days=lag), [*keys, target]]
        rows = rows.merge(lagged.rename(columns={target: f"{target}_lag_{lag}d"}), on=keys, how="left")
    for window in features.rolling_mean_days:
        recent = known[known[day] > as_of_day - pd.Timedelta(days=window)]
        means = recent.groupby(keys, as_index=False)[target].mean()
        rows = rows.merge(means.rename(columns={target: f"{target}_mean_{window}d"}), on=keys, how="left")

    country_holidays = holidays.country_holidays(features.holiday_country, years=target_day.year)
    rows.insert(0, "entity_id", entity_id(rows, keys))
    rows["as_of_date"] = as_of_day
    rows[day] = target_day
    rows["day_of_week"] = target_day.weekday()
    rows["day_of_year"] = target_day.dayofyear
    rows["is_holiday"] = int(target_day.date() in country_holidays)
    rows["event_timestamp"] = target_day.tz_localize("UTC")
    numeric = [c for c in rows.columns if c.startswith(f"{target}_")]
    rows[numeric] = rows[numeric].astype("float64")
    return rows.sort_values("entity_id", ignore_index=True)
