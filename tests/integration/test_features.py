"""Feast over the gold layer: apply, point-in-time historical features, materialize, online."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.errors import ConfigError, MissingInputError
from pipelines.features.datasets import build_datasets
from pipelines.features.store import (
    apply_features,
    feature_store,
    historical_features,
    materialize_features,
    online_features,
)
from pipelines.lakehouse.storage import Lakehouse, PartitionKey


@pytest.fixture
def bound(model_home):
    platform = load_platform_config()
    config = load_model_config("freight_volume")
    lakehouse = Lakehouse(platform.lakehouse_uri)
    store = feature_store(platform)
    apply_features(store, config, lakehouse)
    return store, config, lakehouse


def test_historical_features_are_the_gold_row_of_the_day_never_a_later_one(bound):
    store, config, lakehouse = bound
    gold = lakehouse.read_frame(PartitionKey("gold", "freight", date(2024, 3, 1)))  # for March 8
    route = gold.iloc[0]
    entity_rows = pd.DataFrame(
        {
            "entity_id": [route["entity_id"]] * 2,
            "event_timestamp": pd.to_datetime(["2024-03-08", "2023-12-01"]).tz_localize("UTC"),
        }
    )
    joined = historical_features(store, config, entity_rows).set_index("event_timestamp")
    on_the_day = joined.loc[pd.Timestamp("2024-03-08", tz="UTC")]
    assert on_the_day["volume_mean_28d"] == pytest.approx(route["volume_mean_28d"])
    assert on_the_day["volume_lag_14d"] == pytest.approx(route["volume_lag_14d"])
    # Before any gold row exists, nothing may be served (the row does not come back).
    before_any_gold = joined[joined.index < pd.Timestamp("2024-01-01", tz="UTC")]
    assert before_any_gold["volume_mean_28d"].isna().all()


def test_materialize_an_explicit_window_then_read_online(bound):
    store, config, lakehouse = bound
    gold = lakehouse.read_frame(PartitionKey("gold", "freight", date(2024, 4, 30)))  # for May 7
    materialize_features(store, config, date(2024, 5, 7), date(2024, 5, 8))
    online = online_features(store, config, [*gold["entity_id"][:3], "NOWHERE>NOWHERE"])
    assert online["volume_mean_7d"][:3] == pytest.approx(list(gold["volume_mean_7d"][:3]))
    assert online["volume_mean_7d"][3] is None
    with pytest.raises(ConfigError, match="window is empty"):
        materialize_features(store, config, date(2024, 5, 8), date(2024, 5, 8))


def test_a_feature_the_service_does_not_serve_is_named(bound):
    store, config, lakehouse = bound
    features = config.features.model_copy(update={"numeric": [*config.features.numeric, "volume_lag_99d"]})
    broken = config.model_copy(update={"features": features})
    with pytest.raises(ConfigError, match=r"features \['volume_lag_99d'\] are not in feature service"):
        apply_features(store, broken, lakehouse)


def test_datasets_are_point_in_time_named_by_content_and_reused(bound):
    store, config, lakehouse = bound
    train, test = build_datasets(lakehouse, store, config, date(2024, 4, 30))
    again_train, again_test = build_datasets(lakehouse, store, config, date(2024, 4, 30))
    assert (train, test) == (again_train, again_test)
    assert train.uri.endswith(f"train-{train.digest[:16]}.parquet")
    train_frame, test_frame = pd.read_parquet(train.uri), pd.read_parquet(test.uri)
    assert train_frame["event_timestamp"].max() < test_frame["event_timestamp"].min()
    # Actuals reach April 29 by April 30; the test set is the 14 days up to it.
    assert test_frame["event_timestamp"].dt.date.min() == date(2024, 4, 16)


def test_an_empty_training_set_is_a_clear_error(bound):
    store, config, lakehouse = bound
    with pytest.raises(MissingInputError, match="the training set is empty"):
        build_datasets(lakehouse, store, config, date(2024, 1, 12))


def test_dask_and_duckdb_build_the_same_datasets(model_home):
    """The offline store is a platform setting: either one gives the same sets, by hash."""
    platform, config = load_platform_config(), load_model_config("freight_volume")
    lakehouse = Lakehouse(platform.lakehouse_uri)
    built = {}
    for name in ("duckdb", "dask"):
        feast = platform.feast.model_copy(update={"offline_store": name})
        store = feature_store(platform.model_copy(update={"feast": feast}))
        apply_features(store, config, lakehouse)
        built[name] = build_datasets(lakehouse, store, config, date(2024, 4, 30))
    assert built["duckdb"] == built["dask"]
