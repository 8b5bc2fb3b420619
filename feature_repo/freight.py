"""Feast declarations for the freight source. Declarations only: no I/O, no clients.

The gold layer (``<lakehouse>/gold/freight/logical_date=*/``) holds one row per route and
target day, keyed by ``entity_id`` (``ORIGIN>DESTINATION``) and timestamped by
``event_timestamp`` (the target day). ``declare`` takes the gold folder's URI because it
differs per environment (a local folder embedded, object storage in production).
"""

from __future__ import annotations

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, String


def declare(gold_uri: str) -> list[object]:
    route = Entity(
        name="route",
        join_keys=["entity_id"],
        value_type=ValueType.STRING,
        description="An origin > destination pair of stations.",
    )
    gold = FileSource(
        name="freight_gold",
        # Every day's file (gold_uri/logical_date=YYYY-MM-DD/data-<hash>.parquet): a glob that
        # DuckDB and dask both read; the partition's _manifest.json and a file still being
        # written (.data-....tmp-...) do not match it.
        path=f"{gold_uri}/logical_date=*/*.parquet",
        timestamp_field="event_timestamp",
        description="Gold features as of each logical date, for the day a week ahead.",
    )
    daily = FeatureView(
        name="freight_route_daily",
        entities=[route],
        # A gold row is for exactly one target day: never serve yesterday's as today's.
        ttl=timedelta(days=1),
        source=gold,
        schema=[
            Field(name="origin", dtype=String),
            Field(name="destination", dtype=String),
            Field(name="region", dtype=String),
            Field(name="volume_lag_14d", dtype=Float64),
            Field(name="volume_lag_21d", dtype=Float64),
            Field(name="volume_lag_28d", dtype=Float64),
            Field(name="volume_mean_7d", dtype=Float64),
            Field(name="volume_mean_28d", dtype=Float64),
            Field(name="day_of_week", dtype=Int64),
            Field(name="day_of_year", dtype=Int64),
            Field(name="is_holiday", dtype=Int64),
        ],
        online=True,
        description="Per-route volume history and calendar of the target day.",
    )
    freight_volume_v1 = FeatureService(
        name="freight_volume_v1",
        features=[daily],
        description="Everything the freight_volume model reads.",
    )
    return [route, daily, freight_volume_v1]
