"""The freight expectation suite against good batches and every kind of corrupted batch."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipelines.config.load import load_model_config
from pipelines.errors import BatchRejectedError
from pipelines.lakehouse.expectations import BatchValidator
from pipelines.lakehouse.ingest import BATCH_FILE, ingest_batch
from pipelines.lakehouse.storage import PartitionKey
from pipelines.lakehouse.validate import validate_batch
from pipelines.samples.corruption import CORRUPTION_KINDS, batch_columns, batch_to_csv, corrupt_batch
from pipelines.samples.freight import FreightScenario, batches_by_logical_date

MAX_ROWS = 100  # small, so the huge batch stays small in a test
DAY = date(2024, 2, 1)

EXPECTED_PROBLEM = {
    "nulls": r"column 'volume' has \d+ missing or unparseable values",
    "negative_target": r"column 'volume' has \d+ values outside \[0",
    "out_of_range_dates": r"column 'date' has \d+ values outside \[2024-01-18",
    "renamed_column": r"missing \['volume'\], unexpected \['Volume'\]",
    "retyped_column": r"column 'volume' has values of type str; expected int64",
    "duplicate_keys": r"\d+ rows share a key \(date, origin, destination\)",
    "empty_file": r"the batch file is empty \(0 bytes\)",
    "malformed_csv": r"the batch is not valid CSV: Error tokenizing data",
    "huge_batch": r"the batch has about \d+ rows; the limit is 100 \(source.max_rows_per_batch\)",
}


@pytest.fixture(scope="module")
def config():
    base = load_model_config("freight_volume")
    source = base.source.model_copy(update={"max_rows_per_batch": MAX_ROWS})
    return base.model_copy(update={"source": source})


@pytest.fixture(scope="module")
def validator(config):
    return BatchValidator(config)


@pytest.fixture(scope="module")
def good_batch() -> pd.DataFrame:
    batches = batches_by_logical_date(FreightScenario(start=date(2024, 1, 1), days=40, routes=20))
    return batches[DAY]


def land(tmp_path: Path, data: bytes) -> str:
    path = tmp_path / "landed.csv"
    path.write_bytes(data)
    return str(path)


def test_every_corruption_kind_has_a_test():
    assert set(EXPECTED_PROBLEM) == set(CORRUPTION_KINDS)


def test_a_good_batch_reaches_silver_typed_and_deduplicated(
    lakehouse, config, validator, good_batch, tmp_path
):
    with_resent_row = pd.concat([good_batch, good_batch.iloc[:1]], ignore_index=True)
    ingest_batch(lakehouse, config, DAY, land(tmp_path, batch_to_csv(with_resent_row)))
    outcome = validate_batch(lakehouse, config, DAY, validator=validator)
    silver = lakehouse.read_frame(PartitionKey("silver", "freight", DAY))
    assert len(silver) == len(good_batch)
    assert str(silver["date"].dtype) == "datetime64[ns]"
    assert str(silver["volume"].dtype) == "int64"
    assert outcome.silver.written
    result = Path(outcome.validation_uri)
    assert lakehouse.manifest(PartitionKey("validations", "freight", DAY, outcome.batch_id)).details[
        "success"
    ]
    assert result.exists()


@pytest.mark.parametrize("kind", CORRUPTION_KINDS)
def test_a_corrupted_batch_is_quarantined_with_a_clear_reason(
    kind, lakehouse, config, validator, good_batch, tmp_path
):
    raw = corrupt_batch(good_batch, kind, columns=batch_columns(config), logical_date=DAY, max_rows=MAX_ROWS)
    ingested = ingest_batch(lakehouse, config, DAY, land(tmp_path, raw))

    with pytest.raises(BatchRejectedError, match=EXPECTED_PROBLEM[kind]) as rejected:
        validate_batch(lakehouse, config, DAY, validator=validator)

    assert "quarantined at" in str(rejected.value)
    assert "silver and gold were not written" in str(rejected.value)
    bronze = PartitionKey("bronze", "freight", DAY, batch=ingested.batch_id)
    assert lakehouse.read_bytes(bronze, BATCH_FILE) == raw, "bronze must keep the batch as it arrived"
    assert lakehouse.manifest(PartitionKey("silver", "freight", DAY)) is None
    assert lakehouse.manifest(PartitionKey("gold", "freight", DAY)) is None
    quarantine = PartitionKey("quarantine", "freight", DAY, batch=ingested.batch_id)
    assert lakehouse.read_bytes(quarantine, BATCH_FILE) == raw
    assert b'"success": false' in lakehouse.read_bytes(quarantine, "validation.json")
    assert b"<html" in lakehouse.read_bytes(quarantine, "report.html")


def test_a_corrected_batch_for_the_same_day_is_accepted_after_a_rejection(
    lakehouse, config, validator, good_batch, tmp_path
):
    bad = corrupt_batch(
        good_batch, "negative_target", columns=batch_columns(config), logical_date=DAY, max_rows=MAX_ROWS
    )
    ingest_batch(lakehouse, config, DAY, land(tmp_path, bad))
    with pytest.raises(BatchRejectedError):
        validate_batch(lakehouse, config, DAY, validator=validator)
    ingest_batch(lakehouse, config, DAY, land(tmp_path, batch_to_csv(good_batch)))
    outcome = validate_batch(lakehouse, config, DAY, validator=validator)
    assert outcome.silver.written
    assert len(lakehouse.batches("bronze", "freight", DAY)) == 2


def test_a_header_only_batch_has_no_rows(lakehouse, config, validator, good_batch, tmp_path):
    ingest_batch(lakehouse, config, DAY, land(tmp_path, batch_to_csv(good_batch.iloc[:0])))
    with pytest.raises(BatchRejectedError, match="the batch has 0 rows; allowed 1 to 100"):
        validate_batch(lakehouse, config, DAY, validator=validator)


def test_a_malformed_station_code_is_caught(lakehouse, config, validator, good_batch, tmp_path):
    batch = good_batch.copy()
    batch.loc[0, "origin"] = "north station"
    ingest_batch(lakehouse, config, DAY, land(tmp_path, batch_to_csv(batch)))
    with pytest.raises(BatchRejectedError, match=r"column 'origin' has 1 values not matching"):
        validate_batch(lakehouse, config, DAY, validator=validator)
