"""Gold: per-route features as of each logical date, point-in-time correct by construction.

Gold partition D holds one row per active route for the target day ``D + horizon_days``:
the day a forecast made on D is for. Its features are computed only from silver
partitions with logical date <= D, that is from actuals that had been *reported* by D, so
no row can see a value that arrived later. Training joins these rows with the actuals of
their target day; serving reads the latest row per route from the online store.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from pipelines.config import FeaturesConfig, ModelConfig
from pipelines.storage import (
    FRAME_FILE,
    Lakehouse,
    PartitionKey,
    Published,
    frame_hash,
    frame_to_parquet,
)

if TYPE_CHECKING:
    import pandas as pd


def entity_id(rows: pd.DataFrame, keys: list[str]) -> pd.Series:
    """One string key per entity (e.g. ``NOR-01>SOU-02``), the join key the feature store uses."""
    joined = rows[keys[0]].astype("string")
    for key in keys[1:]:
        joined = joined + ">" + rows[key].astype("string")
    return joined


def lookback_start(as_of: date, features: FeaturesConfig) -> date:
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


def read_history(lakehouse: Lakehouse, config: ModelConfig, start: date, as_of: date) -> pd.DataFrame:
    """Silver rows reported between ``start`` and ``as_of``, tagged with their logical date."""
    import pandas as pd

    source = config.source.name
    frames = []
    for logical_date in lakehouse.logical_dates("silver", source):
        if start <= logical_date <= as_of:
            frame = lakehouse.read_frame(PartitionKey("silver", source, logical_date))
            frames.append(frame.assign(logical_date=pd.Timestamp(logical_date)))
    return pd.concat(frames, ignore_index=True)


def build_gold_partition(lakehouse: Lakehouse, config: ModelConfig, logical_date: date) -> Published:
    """Compute and publish gold for ``logical_date`` from silver partitions up to that date.

    Raises MissingInputError if silver for ``logical_date`` was never published (its batch
    was not validated, or was quarantined), and PartitionConflictError if gold for that
    date exists with other content (silver history changed under it).
    """
    source = config.source.name
    silver = lakehouse.require_manifest(
        PartitionKey("silver", source, logical_date),
        "its batch was not validated or was quarantined; run `conveyor validate` first",
    )
    history = read_history(lakehouse, config, lookback_start(logical_date, config.features), logical_date)
    gold = compute_features(history, logical_date, config)
    inputs = {"silver": silver.content_hash, "history_rows": str(len(history))}
    return lakehouse.publish(
        PartitionKey("gold", source, logical_date),
        {FRAME_FILE: frame_to_parquet(gold)},
        content_hash=frame_hash(gold),
        rows=len(gold),
        inputs=inputs,
    )
