"""Feast declarations for the search source. Declarations only: no I/O, no clients.

The gold layer (``<lakehouse>/gold/search/logical_date=*/``) holds one row per query and
document pair and target day, keyed by ``entity_id`` (``QUERY_ID>DOC_ID``) and
timestamped by ``event_timestamp`` (the target day): the pair's click history over the
last four weeks, its text, and the document's age.
"""

from __future__ import annotations

from datetime import timedelta

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64, String


def declare(gold_uri: str) -> list[object]:
    pair = Entity(
        name="query_document",
        join_keys=["entity_id"],
        value_type=ValueType.STRING,
        description="A query and a document shown for it.",
    )
    gold = FileSource(
        name="search_gold",
        # Every day's file (gold_uri/logical_date=YYYY-MM-DD/data-<hash>.parquet): a glob that
        # DuckDB and dask both read; the partition's _manifest.json and a file still being
        # written (.data-....tmp-...) do not match it.
        path=f"{gold_uri}/logical_date=*/*.parquet",
        timestamp_field="event_timestamp",
        description="Gold features as of each logical date, for the next day's results.",
    )
    daily = FeatureView(
        name="search_pair_daily",
        entities=[pair],
        # A gold row is for exactly one target day: never serve yesterday's as today's.
        ttl=timedelta(days=1),
        source=gold,
        schema=[
            Field(name="query_id", dtype=String),
            Field(name="doc_id", dtype=String),
            Field(name="query", dtype=String),
            Field(name="document", dtype=String),
            Field(name="topic", dtype=String),
            Field(name="language", dtype=String),
            Field(name="impressions_28d", dtype=Float64),
            Field(name="ctr_28d", dtype=Float64),
            Field(name="dwell_mean_28d", dtype=Float64),
            Field(name="doc_age_days", dtype=Int64),
        ],
        online=True,
        description="Per query-document pair: click history, text and document age.",
    )
    search_relevance_v1 = FeatureService(
        name="search_relevance_v1",
        features=[daily],
        description="Everything the search_relevance model reads.",
    )
    return [pair, daily, search_relevance_v1]
