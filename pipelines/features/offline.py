"""Feast's offline store: which one joins training sets, and one shape for what it returns.

Training and test sets are joined point-in-time from gold by Feast's offline store, chosen by
the platform setting ``feast.offline_store``:

- ``duckdb`` (the default): Feast's DuckDB store (through ibis) reads gold's Parquet files in
  one SQL join; 400 routes over a year take seconds and tens of MiB
  (``benchmarks/historical_features.py``).
- ``dask``: Feast's dask store, the one Conveyor used first; minutes and GiB at the same size.

Both join an entity row with the latest gold row of its entity dated in ``[timestamp - ttl,
timestamp]``, but they do not return the same frame. DuckDB keeps an entity row that found no
such gold row, with nulls, where dask drops it; DuckDB gives strings as objects, integer
features as floats (their nulls) and timestamps in microseconds; dask gives the rows in the
order of its shuffle and keeps one row of a duplicated key, any one. ``entity_frame`` and
``reshaped`` give every store's result the shape dask gives, in one order: the entity rows
that found a gold row, one per key, in the order they came, with the entity columns' own
types and the feature view's types. A dataset's content and hash then do not depend on the
store that built it (``tests/unit/features/test_offline.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd

# Feast's dask offline store on Dask's defaults (a thread pool, a shuffle through files on
# disk) spends most of a training set's retrieval coordinating its ~15k small tasks (gold is
# one partition a day). Tasks run in the calling thread and shuffled in memory, the same
# rows come back 2-3x faster. Applied only when dask is the offline store.
DASK_SETTINGS = {"scheduler": "synchronous", "dataframe.shuffle.method": "tasks"}
ROW = "__conveyor_row"  # an entity row's position, carried through the join and dropped after
# A feature's pandas dtype per Feast type: what dask reads from gold's Parquet files.
FEAST_DTYPES = {
    "STRING": "string",
    "INT64": "int64",
    "INT32": "int32",
    "FLOAT64": "float64",
    "FLOAT32": "float32",
    "BOOL": "bool",
}
# What an integer or boolean column with nulls becomes in pandas, as in dask's left join.
WITH_NULLS = {"int64": "float64", "int32": "float64", "bool": "object"}


def offline_store_config(name: str) -> dict[str, Any]:
    """The RepoConfig ``offline_store`` of store ``name`` (``duckdb`` or ``dask``); for dask,
    its settings are applied to this process."""
    if name == "dask":
        import dask

        dask.config.set(DASK_SETTINGS)
    return {"type": name}


def entity_frame(entity_rows: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """The entity rows to send to the store: the first of each ``keys``, numbered in ``ROW``."""
    unique = entity_rows.drop_duplicates(list(keys), keep="first", ignore_index=True)
    return unique.assign(**{ROW: range(len(unique))})


def reshaped(joined: pd.DataFrame, sent: pd.DataFrame, features: Mapping[str, Any]) -> pd.DataFrame:
    """``joined``, what a store returned for ``sent`` (an ``entity_frame``), as dask returns
    it: the rows that found a gold row, in ``sent``'s order, the entity columns in their own
    types (timestamps in UTC), then ``features`` (name -> Feast type) in theirs.

    A row found a gold row when any of its features is set (gold rows carry their entity's
    own columns, e.g. origin). A row whose entity gold never had is dropped too; dask's TTL
    filter would keep it with nulls, but its sort on the null timestamps failed before
    ("Divisions calculation failed") when we tried, so dask gives no frame to match there."""
    import pandas as pd

    names = list(features)
    frame = joined[joined[names].notna().any(axis=1)].sort_values(ROW, kind="stable")
    entity_columns = [c for c in sent.columns if c != ROW]
    columns: dict[str, pd.Series] = {}
    for name in entity_columns:
        if pd.api.types.is_datetime64_any_dtype(sent[name]):
            target = pd.to_datetime(sent[name], utc=True).dtype
            columns[name] = pd.to_datetime(frame[name], utc=True).astype(target)
        else:
            columns[name] = frame[name].astype(sent[name].dtype)
    for name in names:
        columns[name] = _feature_column(frame[name], features[name])
    return pd.DataFrame(columns).reset_index(drop=True)


def _feature_column(column: pd.Series, feast_type: Any) -> pd.Series:
    import pandas as pd

    dtype = FEAST_DTYPES.get(getattr(feast_type, "name", ""))
    if dtype is None:
        return column
    if dtype == "string":
        return column.astype(pd.StringDtype("python"))
    if column.isna().any():
        dtype = WITH_NULLS.get(dtype, dtype)
    return column.astype(dtype)
