"""Gold: features as of each logical date, point-in-time correct by construction.

Gold partition D holds one row per entity for the target day ``D + horizon_days``, the
day a prediction made on D is for. Its features are computed only from silver partitions
with logical date <= D, that is from what had been *reported* by D, so no row can see a
value that arrived later. Training joins these rows with the actuals of their target day;
serving reads the latest row per entity from the online store. How the features are
computed depends on ``features.kind``: ``lags`` (a time series' own history, see
``lags.py``) or ``pair_stats`` (an interaction pair's window statistics, ``pair_stats.py``).

Lags are built out of core: DuckDB queries silver's Parquet files in place, within a fixed
memory limit, and the result is written a piece of routes at a time, so a large batch does
not grow the peak (``lags.features_out_of_core``); the pandas ``compute_features`` stays as
the reference it must equal, row for row and hash for hash. Pair statistics still read
the window into one pandas frame (``read_history``).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from fsspec.implementations.local import LocalFileSystem

from pipelines.config.model import LagFeatures, ModelConfig
from pipelines.lakehouse.gold import lags, pair_stats
from pipelines.lakehouse.gold.keys import entity_id
from pipelines.lakehouse.storage import (
    FRAME_FILE,
    Lakehouse,
    PartitionKey,
    Published,
    frame_hash,
    frame_to_parquet,
    pieces_to_parquet,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_gold", "compute_features", "entity_id", "history_files", "lookback_start", "read_history"]


def lookback_start(as_of: date, config: ModelConfig) -> date:
    """The earliest day any feature as of ``as_of`` can read."""
    features = config.features
    if isinstance(features, LagFeatures):
        return lags.lookback_start(as_of, features)
    return pair_stats.lookback_start(as_of, features)


def compute_features(history: pd.DataFrame, as_of: date, config: ModelConfig) -> pd.DataFrame:
    """Features as of ``as_of`` for every entity in ``history`` (source columns plus
    ``logical_date``, the day each row was reported)."""
    module = lags if isinstance(config.features, LagFeatures) else pair_stats
    return module.compute_features(history, as_of, config)


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


def history_files(lakehouse: Lakehouse, config: ModelConfig, start: date, as_of: date) -> dict[date, str]:
    """The Parquet file of every silver partition reported between ``start`` and ``as_of``."""
    source = config.source.name
    return {
        logical_date: lakehouse.uri(PartitionKey("silver", source, logical_date), FRAME_FILE)
        for logical_date in lakehouse.logical_dates("silver", source)
        if start <= logical_date <= as_of
    }


def _publish_lags(
    lakehouse: Lakehouse, config: ModelConfig, as_of: date, inputs: dict[str, str]
) -> Published:
    """Lag features queried from silver's files in place and written a piece at a time, in
    memory that grows neither with the history nor with the routes (see
    ``lags.features_out_of_core``)."""
    filesystem = None if isinstance(lakehouse.fs, LocalFileSystem) else lakehouse.fs
    files = history_files(lakehouse, config, lookback_start(as_of, config), as_of)
    with tempfile.TemporaryDirectory(prefix="conveyor-gold-") as folder:
        spill = Path(folder) / "spill"
        query = lags.features_out_of_core(files, as_of, config, spill, filesystem=filesystem)
        with query as (pieces, history_rows):
            written, content_hash, rows = pieces_to_parquet(pieces, Path(folder) / FRAME_FILE)
        return lakehouse.publish(
            PartitionKey("gold", config.source.name, as_of),
            {FRAME_FILE: written},
            content_hash=content_hash,
            rows=rows,
            inputs={**inputs, "history_rows": str(history_rows)},
        )


def build_gold(lakehouse: Lakehouse, config: ModelConfig, logical_date: date) -> Published:
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
    if isinstance(config.features, LagFeatures):
        return _publish_lags(lakehouse, config, logical_date, {"silver": silver.content_hash})
    history = read_history(lakehouse, config, lookback_start(logical_date, config), logical_date)
    gold = compute_features(history, logical_date, config)
    return lakehouse.publish(
        PartitionKey("gold", source, logical_date),
        {FRAME_FILE: frame_to_parquet(gold)},
        content_hash=frame_hash(gold),
        rows=len(gold),
        inputs={"silver": silver.content_hash, "history_rows": str(len(history))},
    )
