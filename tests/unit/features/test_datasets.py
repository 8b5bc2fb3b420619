from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from pipelines.errors import MissingInputError
from pipelines.features.datasets import (
    cleanup_datasets,
    label_rows,
    publish_dataset,
    read_dataset,
    split_by_time,
)
from pipelines.lakehouse.storage import FRAME_FILE, PartitionKey, frame_hash, frame_to_parquet


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
    # The same keys with other values (a restated actual) are another dataset, not the first.
    restated = publish_dataset(lakehouse, "freight_volume", "train", frame(5).assign(volume=[0, 1, 2, 3, 9]))
    assert restated.uri != first.uri and read_dataset(first.uri)["volume"].tolist() == [0, 1, 2, 3, 4]
    pd.testing.assert_frame_equal(read_dataset(first.uri), frame(5))


def test_the_split_is_by_time(freight_config):
    train, test = split_by_time(frame(30), freight_config)
    assert len(test) == freight_config.split.test_days
    assert train["event_timestamp"].max() < test["event_timestamp"].min()
    with pytest.raises(MissingInputError, match="the training set is empty"):
        split_by_time(frame(10), freight_config)


def test_cleanup_drops_only_what_nothing_refers_to_and_not_what_was_just_written(lakehouse):
    kept = publish_dataset(lakehouse, "freight_volume", "train", frame(5))
    dropped = publish_dataset(lakehouse, "freight_volume", "test", frame(6))
    assert cleanup_datasets(lakehouse, "freight_volume", {kept.uri}, dry_run=False) == [], (
        "written within the hour: a training may have built it and not started its run yet"
    )
    later = datetime.now(UTC) + timedelta(hours=2)
    listed = cleanup_datasets(lakehouse, "freight_volume", {kept.uri}, dry_run=True, now=later)
    assert listed == [dropped.uri] and Path(dropped.uri).exists()
    assert cleanup_datasets(lakehouse, "freight_volume", {kept.uri}, dry_run=False, now=later) == [
        dropped.uri
    ]
    assert Path(kept.uri).exists() and not Path(dropped.uri).exists()


def test_a_missing_dataset_says_how_to_build_it():
    with pytest.raises(MissingInputError, match="conveyor datasets build"):
        read_dataset("/nowhere/train-0.parquet")


def publish_silver(lakehouse, reported: str, rows: list[tuple[str, int]]) -> None:
    """A silver partition of route A>B: (day, volume) rows reported on ``reported``."""
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime([day for day, _ in rows]),
            "origin": "A",
            "destination": "B",
            "region": "north",
            "volume": [volume for _, volume in rows],
        }
    )
    lakehouse.publish(
        PartitionKey("silver", "freight", date.fromisoformat(reported)),
        {FRAME_FILE: frame_to_parquet(frame)},
        content_hash=frame_hash(frame),
        rows=len(frame),
    )


def test_labels_as_of_a_day_hold_only_what_was_reported_by_then(lakehouse, freight_config):
    """As of a day before the newest silver partition: a later restatement and later days
    are the future, and must not reach a training set built as of that day."""
    publish_silver(lakehouse, "2024-03-02", [("2024-03-01", 10)])
    publish_silver(lakehouse, "2024-03-03", [("2024-03-02", 20), ("2024-03-01", 11)])  # restated
    publish_silver(lakehouse, "2024-03-05", [("2024-03-01", 99), ("2024-03-04", 40)])  # the future

    labels = label_rows(lakehouse, freight_config, date(2024, 3, 3))
    by_day = dict(zip(labels["event_timestamp"].dt.strftime("%Y-%m-%d"), labels["volume"], strict=True))
    assert by_day == {"2024-03-01": 11.0, "2024-03-02": 20.0}
