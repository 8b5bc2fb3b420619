from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import MissingInputError
from pipelines.features.datasets import cleanup_datasets, publish_dataset, read_dataset, split_by_time


def frame(days: int) -> pd.DataFrame:
    stamps = pd.date_range("2024-03-01", periods=days, freq="D", tz="UTC")
    return pd.DataFrame({"entity_id": "A>B", "event_timestamp": stamps, "volume": range(days)})


def test_a_dataset_is_named_by_its_content_and_written_once(lakehouse):
    first = publish_dataset(lakehouse, "freight_volume", "train", frame(5))
    path = Path(first.uri)
    written_at = path.stat().st_mtime_ns
    again = publish_dataset(lakehouse, "freight_volume", "train", frame(5))
    assert again == first and path.stat().st_mtime_ns == written_at
    assert path.name == f"train-{first.digest[:16]}.parquet"
    other = publish_dataset(lakehouse, "freight_volume", "train", frame(6))
    assert other.uri != first.uri
    pd.testing.assert_frame_equal(read_dataset(first.uri), frame(5))


def test_the_split_is_by_time(freight_config):
    train, test = split_by_time(frame(30), freight_config)
    assert len(test) == freight_config.split.test_days
    assert train["event_timestamp"].max() < test["event_timestamp"].min()
    with pytest.raises(MissingInputError, match="the training set is empty"):
        split_by_time(frame(10), freight_config)


def test_cleanup_drops_only_what_no_version_refers_to(lakehouse):
    kept = publish_dataset(lakehouse, "freight_volume", "train", frame(5))
    dropped = publish_dataset(lakehouse, "freight_volume", "test", frame(6))
    listed = cleanup_datasets(lakehouse, "freight_volume", {kept.uri}, dry_run=True)
    assert listed == [dropped.uri] and Path(dropped.uri).exists()
    assert cleanup_datasets(lakehouse, "freight_volume", {kept.uri}, dry_run=False) == [dropped.uri]
    assert Path(kept.uri).exists() and not Path(dropped.uri).exists()


def test_a_missing_dataset_says_how_to_build_it():
    with pytest.raises(MissingInputError, match="conveyor datasets build"):
        read_dataset("/nowhere/train-0.parquet")
