"""Either offline store gives the same training rows: same frame, same dataset hash."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from pydantic import ValidationError

from pipelines.config.platform import FeastConfig
from pipelines.features.datasets import publish_dataset
from pipelines.features.offline import DASK_SETTINGS, offline_store_config
from pipelines.features.store import apply_features, feature_store, historical_features
from pipelines.lakehouse.storage import FRAME_FILE, PartitionKey, frame_hash, frame_to_parquet

STORES = ("duckdb", "dask")


def gold_day(day: str, routes: list[str]) -> pd.DataFrame:
    """Gold of target day ``day`` for ``routes``, typed as gold is; each route's volume_mean_7d
    is ``10 * route number + day of month``, so a value says which row it came from."""
    target = pd.Timestamp(day)
    origins = [route.split(">")[0] for route in routes]
    numbers = [10 * (ord(origin[0]) - ord("A")) + target.day for origin in origins]
    strings = pd.StringDtype("python")
    frame = pd.DataFrame(
        {
            "entity_id": pd.Series(routes, dtype=strings),
            "origin": pd.Series(origins, dtype=strings),
            "destination": pd.Series([route.split(">")[1] for route in routes], dtype=strings),
            "region": pd.Series(["north"] * len(routes), dtype=strings),
            **{f"volume_lag_{n}d": [float(n)] * len(routes) for n in (14, 21, 28)},
            "volume_mean_7d": [float(n) for n in numbers],
            "volume_mean_28d": [None] * len(routes),  # the first weeks have no 28-day mean
            "as_of_date": [target - pd.Timedelta(days=7)] * len(routes),
            "date": [target] * len(routes),
            "day_of_week": [target.weekday()] * len(routes),
            "day_of_year": [target.dayofyear] * len(routes),
            "is_holiday": [0] * len(routes),
        }
    )
    frame["volume_mean_28d"] = frame["volume_mean_28d"].astype("float64")
    for column in ("as_of_date", "date"):
        frame[column] = frame[column].astype("datetime64[ms]")
    frame["event_timestamp"] = frame["date"].dt.tz_localize("UTC")
    return frame


@pytest.fixture
def gold(lakehouse):
    """A>B has gold for March 1 .. 5, C>D only from March 4."""
    for day in range(1, 6):
        routes = ["A>B", "C>D"] if day >= 4 else ["A>B"]
        frame = gold_day(f"2024-03-0{day}", routes)
        key = PartitionKey("gold", "freight", date(2024, 3, day))
        lakehouse.publish(key, {FRAME_FILE: frame_to_parquet(frame)}, content_hash=frame_hash(frame))
    return lakehouse


def entity_rows() -> pd.DataFrame:
    rows = [
        ("C>D", "2024-03-05", 1.0),  # C>D's gold of its day
        ("A>B", "2024-03-03 06:00", 2.0),  # point-in-time: March 3's gold, never March 4's (later)
        ("C>D", "2024-03-02", 3.0),  # no gold: C>D's first is March 4 (DuckDB keeps it, with nulls)
        ("A>B", "2024-03-02", 4.0),  # the gold of its day
        ("A>B", "2024-03-08", 5.0),  # A>B's last gold (March 5) is older than the one-day TTL
        ("A>B", "2024-03-02", 6.0),  # the same key again: the first row wins
    ]
    stamps = pd.to_datetime([stamp for _, stamp, _ in rows], format="ISO8601")
    return pd.DataFrame(
        {
            "entity_id": [entity for entity, _, _ in rows],
            "event_timestamp": stamps.tz_localize("UTC"),
            "volume": [volume for _, _, volume in rows],
        }
    )


def joined_by_store(platform, config, lakehouse) -> dict[str, pd.DataFrame]:
    joined = {}
    for name in STORES:
        feast = platform.feast.model_copy(update={"offline_store": name})
        store = feature_store(platform.model_copy(update={"feast": feast}))
        apply_features(store, config, lakehouse)
        joined[name] = historical_features(store, config, entity_rows())
    return joined


def test_duckdb_and_dask_give_the_same_rows_and_the_same_dataset(platform, freight_config, gold):
    joined = joined_by_store(platform, freight_config, gold)
    pd.testing.assert_frame_equal(joined["duckdb"], joined["dask"])
    refs = [publish_dataset(gold, "freight_volume", "train", joined[name]) for name in STORES]
    assert refs[0] == refs[1] and refs[0].digest == frame_hash(joined["dask"])

    frame = joined["duckdb"]
    # Only rows with a gold row valid at their timestamp, in the order they came.
    assert frame[["entity_id", "volume"]].values.tolist() == [["C>D", 1.0], ["A>B", 2.0], ["A>B", 4.0]]
    assert frame["volume_mean_7d"].tolist() == [25.0, 3.0, 2.0]  # March 3's, not March 4's
    assert frame["volume_mean_28d"].isna().all()
    # The types dask reads from gold: the entity rows' own, and the feature view's.
    assert str(frame["event_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert frame["entity_id"].dtype == object and frame["origin"].dtype == pd.StringDtype("python")
    assert frame["day_of_week"].dtype == "int64" and frame["volume_lag_14d"].dtype == "float64"


def test_the_offline_store_is_duckdb_unless_the_platform_says_dask():
    feast = FeastConfig(registry="registry.db", online_store={"type": "sqlite"})
    assert feast.offline_store == "duckdb"
    with pytest.raises(ValidationError, match="Input should be 'duckdb' or 'dask'"):
        FeastConfig(registry="registry.db", online_store={"type": "sqlite"}, offline_store="spark")


def test_dask_settings_apply_only_to_the_dask_store():
    import dask

    defaults = {"scheduler": "threads", "dataframe.shuffle.method": "disk"}
    with dask.config.set(defaults):
        assert offline_store_config("duckdb") == {"type": "duckdb"}
        assert dask.config.get("scheduler") == "threads"
        assert offline_store_config("dask") == {"type": "dask"}
        assert {key: dask.config.get(key) for key in DASK_SETTINGS} == DASK_SETTINGS
