"""The search expectation suite against good batches and every kind of corrupted batch."""

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
from pipelines.samples.search import SearchScenario, batches_by_logical_date

MAX_ROWS = 200  # small, so the huge batch stays small in a test
DAY = date(2024, 2, 1)

EXPECTED_PROBLEM = {
    "nulls": r"column 'relevance' has \d+ missing or unparseable values",
    "negative_target": r"column 'relevance' has \d+ values not in \{0, 1, 2, 3\}, e.g. -",
    "out_of_range_dates": r"column 'date' has \d+ values outside \[2024-01-31, 2024-02-01\]",
    "renamed_column": r"missing \['relevance'\], unexpected \['Relevance'\]",
    "retyped_column": r"column 'relevance' has values of type str; expected int64",
    "duplicate_keys": r"\d+ rows share a key \(date, query_id, doc_id\)",
    "empty_file": r"the batch file is empty \(0 bytes\)",
    "malformed_csv": r"the batch is not valid CSV: Error tokenizing data",
    "huge_batch": r"the batch has about \d+ rows; the limit is 200 \(source.max_rows_per_batch\)",
}

# What only a search batch can get wrong: (column, row, bad value, the problem reported).
SEARCH_PROBLEMS = [
    ("clicks", 0, 99, r"1 rows have 'clicks' above 'impressions', e.g. 99 > \d"),
    ("impressions", 0, 0, r"column 'impressions' has 1 values outside \[1, 1000000\]"),
    ("dwell_seconds", 0, -3.5, r"column 'dwell_seconds' has 1 values outside \[0, 86400\], e.g. -3.5"),
    ("published", 0, "2024-03-01", r"1 rows have 'published' above 'date', e.g. 2024-03-01 > 2024-01-31"),
    ("published", 0, "01.03.2024", r"column 'published' has 1 missing or unparseable values \(dates must"),
    ("language", 0, "it", r"column 'language' has 1 values not in \{en, de, fr, es\}, e.g. it"),
    ("query_id", 0, "query-7", r"column 'query_id' has 1 values not matching \^q-\[0-9\]\{4,\}\$"),
    ("doc_id", 0, "d-12", r"column 'doc_id' has 1 values not matching"),
    ("document", 0, "word " * 500, r"column 'document' has 1 values shorter than 1 or longer than 2000"),
]


@pytest.fixture(scope="module")
def config():
    base = load_model_config("search_relevance")
    source = base.source.model_copy(update={"max_rows_per_batch": MAX_ROWS})
    return base.model_copy(update={"source": source})


@pytest.fixture(scope="module")
def validator(config):
    return BatchValidator(config)


@pytest.fixture(scope="module")
def good_batch() -> pd.DataFrame:
    scenario = SearchScenario(start=date(2024, 1, 1), days=40, queries=30, queries_per_day=8)
    return batches_by_logical_date(scenario)[DAY]


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
    silver = lakehouse.read_frame(PartitionKey("silver", "search", DAY))
    assert outcome.silver.written
    assert len(silver) == len(good_batch) == 80
    assert list(silver.columns) == list(config.source.schema_)
    dtypes = silver.dtypes.astype(str).to_dict()
    assert dtypes["date"] == dtypes["published"] == "datetime64[ns]"
    assert dtypes["relevance"] == dtypes["clicks"] == "int64" and dtypes["dwell_seconds"] == "float64"


@pytest.mark.parametrize("kind", CORRUPTION_KINDS)
def test_a_corrupted_batch_is_quarantined_with_a_clear_reason(
    kind, lakehouse, config, validator, good_batch, tmp_path
):
    raw = corrupt_batch(good_batch, kind, columns=batch_columns(config), logical_date=DAY, max_rows=MAX_ROWS)
    ingested = ingest_batch(lakehouse, config, DAY, land(tmp_path, raw))

    with pytest.raises(BatchRejectedError, match=EXPECTED_PROBLEM[kind]) as rejected:
        validate_batch(lakehouse, config, DAY, validator=validator)

    assert "quarantined at" in str(rejected.value)
    assert lakehouse.manifest(PartitionKey("silver", "search", DAY)) is None
    quarantine = PartitionKey("quarantine", "search", DAY, batch=ingested.batch_id)
    assert lakehouse.read_bytes(quarantine, BATCH_FILE) == raw
    assert b'"success": false' in lakehouse.read_bytes(quarantine, "validation.json")


@pytest.mark.parametrize(("column", "row", "value", "problem"), SEARCH_PROBLEMS)
def test_a_broken_search_invariant_is_caught(
    column, row, value, problem, lakehouse, config, validator, good_batch, tmp_path
):
    batch = good_batch.astype({column: object})
    batch.loc[row, column] = value
    ingest_batch(lakehouse, config, DAY, land(tmp_path, batch_to_csv(batch)))
    with pytest.raises(BatchRejectedError, match=problem) as rejected:
        validate_batch(lakehouse, config, DAY, validator=validator)
    assert str(rejected.value).count("\n  - ") == 1, "one broken value, one problem"


def test_a_new_topic_is_not_a_broken_batch(config, validator):
    scenario = SearchScenario(
        start=date(2024, 1, 1), days=40, queries=30, queries_per_day=8, shift="new_topics",
        shift_start=date(2024, 1, 20),
    )  # fmt: skip
    batch = batches_by_logical_date(scenario)[DAY]
    assert {"space", "climate", "elections"} & set(batch["topic"])
    frame = batch.assign(date=pd.to_datetime(batch["date"]), published=pd.to_datetime(batch["published"]))
    verdict = validator.validate(frame, DAY)
    assert verdict.success, verdict.problems
