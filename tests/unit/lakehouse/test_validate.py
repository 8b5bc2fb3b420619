"""Validation a chunk at a time: what needs the whole batch still sees all of it, a failure in
any chunk rejects the batch, and the verdict and silver are those of the whole-frame path."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines.config.load import load_model_config
from pipelines.errors import BatchRejectedError
from pipelines.lakehouse.chunks import read_header, text_chunks
from pipelines.lakehouse.expectations import BatchValidator
from pipelines.lakehouse.ingest import ingest_batch
from pipelines.lakehouse.storage import PartitionKey, frame_hash
from pipelines.lakehouse.validate import parse_batch, to_silver, validate_batch
from pipelines.samples.corruption import batch_columns, batch_to_csv, corrupt_batch
from pipelines.samples.freight import FreightScenario, batches_by_logical_date

DAY = date(2024, 2, 1)
BLOCK = 300  # bytes: about eight rows of a freight batch per chunk, so every batch has several


@pytest.fixture(scope="module")
def config():
    return load_model_config("freight_volume")


@pytest.fixture(scope="module")
def validator(config):
    return BatchValidator(config)


@pytest.fixture(scope="module")
def good_batch() -> pd.DataFrame:
    return batches_by_logical_date(FreightScenario(start=date(2024, 1, 1), days=40, routes=20))[DAY]


def chunks_of(raw: bytes) -> int:
    handle = io.BytesIO(raw)
    columns = read_header(handle)
    handle.seek(0)
    return sum(1 for _ in text_chunks(handle, columns, BLOCK))


def validate(lakehouse, config, validator, raw: bytes, tmp_path: Path):
    path = tmp_path / "landed.csv"
    path.write_bytes(raw)
    ingest_batch(lakehouse, config, DAY, str(path))
    return validate_batch(lakehouse, config, DAY, validator=validator, block_size=BLOCK)


def whole_frame_problems(raw: bytes, config, validator) -> list[str]:
    """The old path: the whole batch parsed at once, deduplicated, the whole suite on it."""
    return validator.validate(parse_batch(raw, config).drop_duplicates(ignore_index=True), DAY).problems


def test_a_key_repeated_in_another_chunk_is_rejected(lakehouse, config, validator, good_batch, tmp_path):
    repeated = good_batch.iloc[:1].assign(volume=good_batch["volume"].iloc[0] + 1)
    raw = batch_to_csv(pd.concat([good_batch, repeated], ignore_index=True))
    assert chunks_of(raw) >= 3, "the first row and its repeat must be in different chunks"
    with pytest.raises(BatchRejectedError, match=r"2 rows share a key \(date, origin, destination\)"):
        validate(lakehouse, config, validator, raw, tmp_path)
    assert lakehouse.manifest(PartitionKey("silver", "freight", DAY)) is None


def test_a_row_wise_failure_in_the_last_chunk_is_rejected(lakehouse, config, validator, good_batch, tmp_path):
    batch = good_batch.copy()
    batch.loc[len(batch) - 1, "volume"] = -7
    raw = batch_to_csv(batch)
    assert chunks_of(raw) >= 3
    with pytest.raises(
        BatchRejectedError, match=r"column 'volume' has 1 values outside \[0, 100000\], e.g. -7"
    ):
        validate(lakehouse, config, validator, raw, tmp_path)
    assert lakehouse.manifest(PartitionKey("silver", "freight", DAY)) is None


def test_a_row_sent_twice_in_different_chunks_counts_once(lakehouse, config, validator, good_batch, tmp_path):
    batch = good_batch.copy()
    batch.loc[0, "volume"] = -7
    raw = batch_to_csv(pd.concat([batch, batch.iloc[:1]], ignore_index=True))
    with pytest.raises(BatchRejectedError, match=r"column 'volume' has 1 values outside") as rejected:
        validate(lakehouse, config, validator, raw, tmp_path)
    assert "share a key" not in str(rejected.value)


@pytest.mark.parametrize(
    "kind",
    ["nulls", "negative_target", "out_of_range_dates", "renamed_column", "retyped_column", "duplicate_keys"],
)
def test_the_problems_are_those_of_the_whole_frame(kind, lakehouse, config, validator, good_batch, tmp_path):
    raw = corrupt_batch(good_batch, kind, columns=batch_columns(config), logical_date=DAY, max_rows=1000)
    with pytest.raises(BatchRejectedError) as rejected:
        validate(lakehouse, config, validator, raw, tmp_path)
    for problem in whole_frame_problems(raw, config, validator):
        assert f"  - {problem}\n" in str(rejected.value)


def test_silver_and_its_hash_are_those_of_the_whole_frame(lakehouse, config, validator, good_batch, tmp_path):
    # Shuffled, with a row sent twice far apart: silver must still be sorted and deduplicated.
    shuffled = good_batch.sample(frac=1, random_state=3)
    raw = batch_to_csv(pd.concat([shuffled, shuffled.iloc[:1]], ignore_index=True))
    outcome = validate(lakehouse, config, validator, raw, tmp_path)
    expected = to_silver(parse_batch(raw, config).drop_duplicates(ignore_index=True), config)
    silver = lakehouse.read_frame(PartitionKey("silver", "freight", DAY))
    assert outcome.silver.content_hash == frame_hash(expected)
    pd.testing.assert_frame_equal(silver, expected)
    assert lakehouse.manifest(PartitionKey("silver", "freight", DAY)).rows == len(good_batch)
