"""Gold for a time series (``features.kind: lags``): per-route lags and rolling means of
the target, and the target day's calendar.

Partition D holds one row per active route for the target day ``D + horizon_days``: the
day a forecast made on D is for, computed only from what had been reported by D.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.config.model import LagFeatures, ModelConfig
from pipelines.lakehouse.gold.keys import SEPARATOR, entity_id

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

PIECE_ROWS = 100_000  # routes a gold piece holds; one piece is in memory at a time


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

    return _finish(rows, as_of, config).sort_values("entity_id", ignore_index=True)


def _finish(rows: pd.DataFrame, as_of: date, config: ModelConfig) -> pd.DataFrame:
    """Rows of one route each (keys, slices, lags, means) completed with the target day's
    calendar and the entity id, the numbers as float64, in the order given."""
    import holidays
    import pandas as pd

    features = config.features
    assert isinstance(features, LagFeatures)
    day, target = config.timestamp_column, config.target
    as_of_day = pd.Timestamp(as_of)
    target_day = pd.Timestamp(as_of + timedelta(days=features.horizon_days))
    country_holidays = holidays.country_holidays(features.holiday_country, years=target_day.year)
    rows.insert(0, "entity_id", entity_id(rows, config.entity_keys))
    rows["as_of_date"] = as_of_day
    rows[day] = target_day
    rows["day_of_week"] = target_day.weekday()
    rows["day_of_year"] = target_day.dayofyear
    rows["is_holiday"] = int(target_day.date() in country_holidays)
    rows["event_timestamp"] = target_day.tz_localize("UTC")
    numeric = [c for c in rows.columns if c.startswith(f"{target}_")]
    rows[numeric] = rows[numeric].astype("float64")
    return rows


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@contextmanager
def features_out_of_core(
    partitions: Mapping[date, str],
    as_of: date,
    config: ModelConfig,
    folder: Path,
    filesystem: Any = None,
    piece_rows: int = PIECE_ROWS,
) -> Iterator[tuple[Iterator[pd.DataFrame], int]]:
    """``compute_features`` on the silver Parquet files ``partitions`` (logical date -> file),
    queried in place by DuckDB within ``MEMORY_LIMIT`` (it spills to ``folder``), so memory
    grows neither with the history nor with the routes: gives the features as consecutive
    pieces of at most ``piece_rows`` routes, in entity id order (the reference's frame, cut
    into pieces), and the number of history rows read. ``filesystem`` is the fsspec
    filesystem of non-local files. The pieces are read while the context is open.

    The same rules, in SQL: the latest report of a (route, day) wins, rows reported or dated
    after ``as_of`` are ignored, the slices come from a route's latest day, a lag is the
    target on ``target_day - lag``, a mean is over days after ``as_of - window``. Means are
    sums over counts, divided here as pandas divides them.
    """
    import duckdb
    import pyarrow.parquet as pq

    from pipelines.lakehouse.whole_batch import MEMORY_LIMIT

    features = config.features
    assert isinstance(features, LagFeatures)
    day, target, keys = config.timestamp_column, config.target, config.entity_keys
    slices = [c for c in config.slices if c not in keys]
    target_day = as_of + timedelta(days=features.horizon_days)
    newest = partitions[max(partitions)]
    with filesystem.open(newest, "rb") if filesystem is not None else open(newest, "rb") as handle:
        dtypes = pq.ParquetFile(handle).schema_arrow.empty_table().to_pandas().dtypes

    q = _quoted
    read = [f"{q(c)}" for c in [*keys, day, target, *slices]]
    history = " UNION ALL ".join(
        f"SELECT {', '.join(read)}, DATE '{logical_date.isoformat()}' AS logical_date"
        f" FROM read_parquet({_literal(path)})"
        for logical_date, path in sorted(partitions.items())
    )
    key_names = ", ".join(q(k) for k in keys)
    reported = ", ".join(f"{q(c)} := {q(c)}" for c in [target, *slices])
    as_of_ts, target_ts = f"TIMESTAMP '{as_of.isoformat()}'", f"TIMESTAMP '{target_day.isoformat()}'"
    total = "fsum" if dtypes[target].kind == "f" else "sum"
    value = f"struct_extract(latest, {_literal(target)})"
    columns = [f"struct_extract(arg_max(latest, {q(day)}), {_literal(c)}) AS {q(c)}" for c in slices]
    for lag in features.lags_days:
        on = f"{target_ts} - INTERVAL {int(lag)} DAY"
        columns.append(f"max({value}) FILTER (WHERE {q(day)} = {on}) AS lag_{int(lag)}")
    for window in features.rolling_mean_days:
        recent = f"{q(day)} > {as_of_ts} - INTERVAL {int(window)} DAY"
        columns.append(f"CAST({total}({value}) FILTER (WHERE {recent}) AS DOUBLE) AS sum_{window}")
        columns.append(f"count({value}) FILTER (WHERE {recent}) AS count_{window}")
    # The entity id as keys.entity_id writes it; VARCHAR orders by code point, as pandas does.
    entity = f" || {_literal(SEPARATOR)} || ".join(f"CAST({q(k)} AS VARCHAR)" for k in keys)
    query = f"""
        WITH history AS ({history}),
        known AS (
            SELECT {key_names}, {q(day)}, arg_max(struct_pack({reported}), logical_date) AS latest
            FROM history
            WHERE logical_date <= DATE '{as_of.isoformat()}' AND {q(day)} <= {as_of_ts}
            GROUP BY {key_names}, {q(day)}
        )
        SELECT {key_names}, {", ".join(columns)} FROM known GROUP BY {key_names} ORDER BY {entity}
    """
    spill = {"memory_limit": MEMORY_LIMIT, "temp_directory": str(folder)}
    connection = duckdb.connect(config={**spill, "preserve_insertion_order": False})
    try:
        if filesystem is not None:
            connection.register_filesystem(filesystem)
        history_rows = connection.sql(f"SELECT count(*) FROM ({history})").fetchall()[0][0]
        reader = connection.sql(query).fetch_record_batch(piece_rows)

        def pieces() -> Iterator[pd.DataFrame]:
            import pyarrow as pa

            empty = True
            for batch in reader:
                empty = False
                yield _piece(pa.Table.from_batches([batch]), dtypes, as_of, config)
            if empty:  # one empty piece: the file still has its columns
                yield _piece(reader.schema.empty_table(), dtypes, as_of, config)

        yield pieces(), int(history_rows)
    finally:
        connection.close()


def _piece(found: pa.Table, dtypes: pd.Series, as_of: date, config: ModelConfig) -> pd.DataFrame:
    """Gold rows from the query's rows: silver's types, the means divided, ``_finish``ed."""
    import numpy as np

    features = config.features
    assert isinstance(features, LagFeatures)
    target, keys = config.target, config.entity_keys
    slices = [c for c in config.slices if c not in keys]
    rows = found.select([*keys, *slices]).to_pandas()
    rows = rows.astype({c: dtypes[c] for c in rows.columns})
    for lag in features.lags_days:
        rows[f"{target}_lag_{lag}d"] = found[f"lag_{int(lag)}"].to_pandas()
    for window in features.rolling_mean_days:
        sums = found[f"sum_{window}"].to_numpy(zero_copy_only=False).astype("float64")
        counts = found[f"count_{window}"].to_numpy(zero_copy_only=False).astype("float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            rows[f"{target}_mean_{window}d"] = np.where(counts > 0, sums / counts, np.nan)
    return _finish(rows, as_of, config)
