"""Actuals: the values that really happened, loaded into the prediction log's database so
that monitoring can join them with what was served.

They come late (the freight source reports a day 1-3 days after it happened, and may
restate it), so each load takes everything reported over the last
``source.max_report_delay_days`` and upserts it: a restated day replaces its earlier value.
The default source is the lakehouse's silver layer, where validated batches already carry
the actuals; ``--file`` loads a CSV or Parquet file from elsewhere instead. Silver also
gives monitoring the slice columns a model does not read as features (``slices_from_silver``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from pipelines.errors import MissingInputError
from pipelines.features.datasets import label_rows, latest_reports
from pipelines.features.store import ENTITY_ID, EVENT_TIMESTAMP
from pipelines.lakehouse.gold import entity_id

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.config.model import ModelConfig
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.serving.log import PredictionLog

log = logging.getLogger("conveyor.actuals")


@dataclass(frozen=True)
class ActualsLoaded:
    model: str
    as_of: str
    source: str
    rows: int
    first_day: str | None
    last_day: str | None


def from_silver(lakehouse: Lakehouse, config: ModelConfig, as_of: date) -> pd.DataFrame:
    since = as_of - timedelta(days=config.source.max_report_delay_days)
    labels = label_rows(lakehouse, config, as_of, reported_since=since)
    return labels.rename(columns={EVENT_TIMESTAMP: "target_date", config.target: "actual"}).assign(
        target_date=lambda f: f["target_date"].dt.date
    )


def slices_from_silver(
    lakehouse: Lakehouse, config: ModelConfig, columns: list[str], first: date, last: date
) -> pd.DataFrame:
    """What silver recorded with each actual dated ``first`` .. ``last`` (``entity_id``,
    ``target_date`` and ``columns``, the latest report winning): the slice columns of a
    model that does not read them as features (a search's topic and language), so that
    its live error can still be cut by them."""
    import pandas as pd

    reported_by = last + timedelta(days=config.source.max_report_delay_days)
    silver = latest_reports(lakehouse, config, first, reported_by)
    if silver is None:
        return pd.DataFrame(columns=[ENTITY_ID, "target_date", *columns])
    silver = silver.assign(target_date=pd.to_datetime(silver[config.timestamp_column]).dt.date)
    silver = silver[(silver["target_date"] >= first) & (silver["target_date"] <= last)]
    return silver.assign(**{ENTITY_ID: entity_id(silver, config.entity_keys)})[
        [ENTITY_ID, "target_date", *columns]
    ].reset_index(drop=True)


def from_file(path: str, config: ModelConfig) -> pd.DataFrame:
    import pandas as pd

    try:
        frame = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
    except FileNotFoundError:
        raise MissingInputError(f"actuals file {path} does not exist") from None
    needed = [*config.entity_keys, config.timestamp_column, config.target]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise MissingInputError(f"actuals file {path} lacks columns {missing}; it needs {needed}")
    actual = pd.to_numeric(frame[config.target], errors="coerce")
    days = pd.to_datetime(frame[config.timestamp_column], errors="coerce")
    bad = int((actual.isna() | days.isna()).sum())
    if bad:
        raise MissingInputError(
            f"actuals file {path}: {bad} rows have no number in {config.target!r} or no date in"
            f" {config.timestamp_column!r}; fix or drop them, nothing was loaded"
        )
    return pd.DataFrame(
        {ENTITY_ID: entity_id(frame, config.entity_keys), "target_date": days.dt.date, "actual": actual}
    )


def ingest_actuals(
    prediction_log: PredictionLog,
    lakehouse: Lakehouse,
    config: ModelConfig,
    as_of: date,
    path: str | None = None,
) -> ActualsLoaded:
    frame = from_file(path, config) if path else from_silver(lakehouse, config, as_of)
    rows = prediction_log.upsert_actuals(config.name, frame, reported_on=as_of)
    first = str(min(frame["target_date"])) if rows else None
    last = str(max(frame["target_date"])) if rows else None
    log.info("%s: %d actuals for %s .. %s loaded", config.name, rows, first, last)
    return ActualsLoaded(config.name, as_of.isoformat(), path or "silver", rows, first, last)
