"""Datasets: training, test and test-prediction sets, named by their content, written once.

Training and test sets are built point-in-time: the labels are silver actuals reported by
the as-of date, joined through Feast with the gold features valid on their day. A set's
file name carries its content hash (``train-<sha16>.parquet``), so building the same set
twice finds the first one, and nothing is ever overwritten.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import fsspec

from pipelines.errors import MissingInputError
from pipelines.features.store import ENTITY_ID, EVENT_TIMESTAMP, historical_features, served_features
from pipelines.lakehouse.gold import entity_id
from pipelines.lakehouse.storage import PartitionKey, frame_hash, frame_to_parquet, write_atomic

if TYPE_CHECKING:
    import pandas as pd
    from feast import FeatureStore

    from pipelines.config.model import ModelConfig
    from pipelines.lakehouse.storage import Lakehouse

log = logging.getLogger("conveyor.datasets")
DatasetKind = Literal["train", "test", "predictions"]


@dataclass(frozen=True)
class DatasetRef:
    kind: str
    uri: str
    digest: str
    rows: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def dataset_folder(lakehouse: Lakehouse, model: str) -> str:
    return f"{lakehouse.root_uri}/datasets/{model}"


def publish_dataset(lakehouse: Lakehouse, model: str, kind: DatasetKind, frame: pd.DataFrame) -> DatasetRef:
    """Write ``frame`` once as ``<kind>-<hash16>.parquet``; an existing equal set is reused."""
    digest = frame_hash(frame)
    uri = f"{dataset_folder(lakehouse, model)}/{kind}-{digest[:16]}.parquet"
    fs, path = fsspec.core.url_to_fs(uri)
    if not fs.exists(path):
        fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        write_atomic(fs, path, frame_to_parquet(frame))
        log.info("wrote %s set: %s (%d rows)", kind, uri, len(frame))
    else:
        log.info("reusing %s set: %s", kind, uri)
    return DatasetRef(kind=kind, uri=uri, digest=digest, rows=len(frame))


def read_dataset(uri: str) -> pd.DataFrame:
    import pandas as pd

    try:
        with fsspec.open(uri, "rb") as handle:
            return pd.read_parquet(handle)
    except FileNotFoundError:
        raise MissingInputError(
            f"dataset {uri} does not exist; build it with `conveyor datasets build`"
        ) from None


def latest_reports(lakehouse: Lakehouse, config: ModelConfig, first: date, last: date) -> pd.DataFrame | None:
    """Silver rows of the batches reported ``first`` .. ``last``: one row per entity and day,
    the latest report winning (a restated day replaces its earlier value); None when silver
    has no batch in that range."""
    import pandas as pd

    source = config.source.name
    days = [d for d in lakehouse.logical_dates("silver", source) if first <= d <= last]
    if not days:
        return None
    frames = [lakehouse.read_frame(PartitionKey("silver", source, d)).assign(_reported=d) for d in days]
    silver = pd.concat(frames, ignore_index=True).sort_values("_reported", kind="stable")
    return silver.drop_duplicates([*config.entity_keys, config.timestamp_column], keep="last")


def label_rows(
    lakehouse: Lakehouse, config: ModelConfig, as_of: date, *, reported_since: date | None = None
) -> pd.DataFrame:
    """Actuals reported by ``as_of`` (and, if given, not before ``reported_since``): one row
    per entity and day, the latest report winning."""
    import pandas as pd

    silver = latest_reports(lakehouse, config, reported_since or date.min, as_of)
    if silver is None:
        source = config.source.name
        raise MissingInputError(f"silver has no {source} partitions up to {as_of}; ingest and validate first")
    return pd.DataFrame(
        {
            ENTITY_ID: entity_id(silver, config.entity_keys),
            EVENT_TIMESTAMP: pd.to_datetime(silver[config.timestamp_column]).dt.tz_localize("UTC"),
            config.target: silver[config.target].astype("float64"),
        }
    )


def feature_columns(config: ModelConfig) -> list[str]:
    """What the model reads, in order: numeric, categorical, then text features."""
    features = config.features
    return [*features.numeric, *features.categorical, *features.text]


def model_columns(config: ModelConfig) -> list[str]:
    """A dataset's columns: keys, features, the slices and ranking query key, the target."""
    features = feature_columns(config)
    grouping = [config.ranking.query_key] if config.ranking else []
    extra = [c for c in dict.fromkeys([*grouping, *config.slices]) if c not in features]
    return [ENTITY_ID, EVENT_TIMESTAMP, *features, *extra, config.target]


def build_datasets(
    lakehouse: Lakehouse, store: FeatureStore, config: ModelConfig, as_of: date
) -> tuple[DatasetRef, DatasetRef]:
    """Build and publish the training and test sets of ``config`` as of ``as_of``.

    Raises MissingInputError when there are no labels, no labelled row has features, or
    the time split leaves the training or the test set empty.
    """
    labels = label_rows(lakehouse, config, as_of)
    missing_slices = [s for s in config.slices if s not in served_features(store, config)]
    if missing_slices:
        raise MissingInputError(
            f"slices {missing_slices} are not served by {config.features.feature_service}"
        )
    joined = historical_features(store, config, labels)
    # A label without a gold row on its day has no features at all (e.g. the first weeks).
    joined = joined.dropna(subset=config.features.categorical or config.features.numeric[:1])
    if joined.empty:
        raise MissingInputError(
            f"none of the {len(labels)} labelled rows up to {as_of} has gold features;"
            " build gold (`conveyor gold`) for the days before them"
        )
    frame = joined[model_columns(config)].sort_values([EVENT_TIMESTAMP, ENTITY_ID], ignore_index=True)
    train, test = split_by_time(frame, config)
    return (
        publish_dataset(lakehouse, config.name, "train", train),
        publish_dataset(lakehouse, config.name, "test", test),
    )


def split_by_time(frame: pd.DataFrame, config: ModelConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last ``split.test_days`` days are the test set; everything before, training."""
    return split_last_days(frame, config.split.test_days, "training set", "split.test_days")


def split_last_days(
    frame: pd.DataFrame, days: int, rest: str, setting: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``frame`` before and in its last ``days`` days; raises MissingInputError when nothing is
    before (``rest`` and ``setting`` name the part and the config field in the message)."""
    last_day = frame[EVENT_TIMESTAMP].max()
    cutoff = last_day - timedelta(days=days)
    before = frame[frame[EVENT_TIMESTAMP] <= cutoff].reset_index(drop=True)
    last = frame[frame[EVENT_TIMESTAMP] > cutoff].reset_index(drop=True)
    if before.empty:
        raise MissingInputError(
            f"the {rest} is empty: all {len(frame)} rows with features fall in the last"
            f" {days} days ({setting}); ingest more history first"
        )
    return before, last


def cleanup_datasets(
    lakehouse: Lakehouse,
    model: str,
    referenced: set[str],
    *,
    dry_run: bool,
    keep_younger_than: timedelta = timedelta(hours=1),
    now: datetime | None = None,
) -> list[str]:
    """Delete (or with ``dry_run`` only list) the sets nothing refers to: not in
    ``referenced`` (registered versions, unfinished runs) and written before
    ``keep_younger_than`` ago (a training may have built them and not started its run yet)."""
    fs, folder = fsspec.core.url_to_fs(dataset_folder(lakehouse, model))
    if not fs.exists(folder):
        return []
    cutoff = (now or datetime.now(UTC)) - keep_younger_than
    unreferenced = []
    for path in sorted(fs.glob(f"{folder}/*.parquet")):
        uri = path if "://" not in lakehouse.root_uri else fs.unstrip_protocol(path)
        if uri in referenced or _modified(fs, path) > cutoff:
            continue
        unreferenced.append(uri)
        if not dry_run:
            fs.rm(path)
    return unreferenced


def _modified(fs: Any, path: str) -> datetime:
    modified = fs.modified(path)
    return modified if modified.tzinfo else modified.replace(tzinfo=UTC)
