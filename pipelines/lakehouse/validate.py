"""Validate: bronze batch -> silver partition, or -> quarantine with the reasons why."""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from pipelines.config.model import ModelConfig
from pipelines.errors import BatchRejectedError, MissingInputError
from pipelines.lakehouse.expectations import BatchValidator, SuiteVerdict
from pipelines.lakehouse.ingest import BATCH_FILE
from pipelines.lakehouse.storage import (
    FRAME_FILE,
    Lakehouse,
    PartitionKey,
    Published,
    frame_hash,
    frame_to_parquet,
)

if TYPE_CHECKING:
    import pandas as pd

RESULT_FILE, REPORT_FILE = "validation.json", "report.html"
_PANDAS_TYPES = {"date": "string", "string": "string"}


@dataclass(frozen=True)
class ValidationOutcome:
    batch_id: str
    validation_uri: str
    silver: Published


class UnreadableBatch(Exception):
    """The batch could not be read as a table at all; GX never sees it."""


def parse_batch(raw: bytes, config: ModelConfig) -> pd.DataFrame:
    """Read a CSV batch with the schema's text columns as text and numbers inferred, so that
    a retyped column shows up as a type failure instead of a crash. Dates become datetimes;
    an unparseable date becomes a null, which the suite reports."""
    import pandas as pd

    if not raw.strip():
        raise UnreadableBatch(f"the batch file is empty ({len(raw)} bytes)")
    lines = raw.count(b"\n") - 1
    limit = config.source.max_rows_per_batch
    if lines > limit:
        # Refuse before parsing: a huge batch must not exhaust the worker's memory.
        raise UnreadableBatch(
            f"the batch has about {lines} rows; the limit is {limit} (source.max_rows_per_batch)"
        )
    schema = config.source.schema_
    text_columns = {c: _PANDAS_TYPES[t] for c, t in schema.items() if t in _PANDAS_TYPES}
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype=text_columns, dtype_backend="numpy_nullable")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise UnreadableBatch(f"the batch is not valid CSV: {str(exc).strip()}") from None
    for column, kind in schema.items():
        if kind == "date" and column in frame:
            frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
    return frame


def to_silver(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """Typed and deduplicated, in a stable order so equal data hashes equally."""
    casts = {"date": "datetime64[ns]", "string": "string", "int": "int64", "float": "float64"}
    schema = config.source.schema_
    typed = frame.astype({c: casts[t] for c, t in schema.items()})[list(schema)]
    keys = [config.timestamp_column, *config.entity_keys]
    return typed.sort_values(keys, ignore_index=True)


def _unreadable_verdict(reason: str) -> SuiteVerdict:
    page = f"<html><body><h1>Batch rejected before validation</h1><p>{html.escape(reason)}</p>"
    return SuiteVerdict(False, [reason], {"success": False, "unreadable": reason}, page, "", 0)


def validate_batch(
    lakehouse: Lakehouse,
    config: ModelConfig,
    logical_date: date,
    *,
    batch_id: str | None = None,
    validator: BatchValidator | None = None,
) -> ValidationOutcome:
    """Check a bronze batch with the source's expectation suite.

    Reads bronze (the newest batch of ``logical_date`` unless ``batch_id`` names one).
    Writes the validation result (JSON and GX's HTML report) to ``validations/``; then,
    on success, the typed batch to silver; on failure, the batch and its result to
    ``quarantine/``. Raises BatchRejectedError naming every failed expectation, and
    MissingInputError when there is no batch to validate.
    """
    source = config.source.name
    batches = lakehouse.batches("bronze", source, logical_date)
    if batch_id is None and batches:
        batch_id = batches[-1].key.rsplit("batch=", 1)[1]
    if batch_id is None or not any(m.key.endswith(f"batch={batch_id}") for m in batches):
        raise MissingInputError(
            f"bronze has no batch {batch_id or ''} for {source} {logical_date};"
            " run `conveyor ingest` for that date first"
        )
    bronze_key = PartitionKey("bronze", source, logical_date, batch=batch_id)
    raw = lakehouse.read_bytes(bronze_key, BATCH_FILE)
    frame = None
    try:
        frame = parse_batch(raw, config).drop_duplicates(ignore_index=True)
        verdict = (validator or BatchValidator(config)).validate(frame, logical_date)
    except UnreadableBatch as exc:
        verdict = _unreadable_verdict(str(exc))

    identity = f"{batch_id}:{verdict.suite_name}:v{verdict.suite_version}"
    result_files = {
        RESULT_FILE: json.dumps(verdict.result, indent=2, default=str).encode(),
        REPORT_FILE: verdict.html.encode(),
    }
    validation_key = PartitionKey("validations", source, logical_date, batch=batch_id)
    validation = lakehouse.publish(
        validation_key,
        result_files,
        content_hash=identity,
        details={"success": verdict.success, "problems": verdict.problems},
    )
    if not verdict.success or frame is None:
        quarantine = lakehouse.publish(
            PartitionKey("quarantine", source, logical_date, batch=batch_id),
            {BATCH_FILE: raw, **result_files},
            content_hash=identity,
            details={"problems": verdict.problems},
        )
        listing = "\n".join(f"  - {problem}" for problem in verdict.problems)
        raise BatchRejectedError(
            f"batch {batch_id} of {source} {logical_date} failed validation:\n{listing}\n"
            f"It is quarantined at {quarantine.uri} (report: {REPORT_FILE}); silver and gold"
            " were not written. Fix the data and ingest a corrected batch."
        )
    silver_frame = to_silver(frame, config)
    silver = lakehouse.publish(
        PartitionKey("silver", source, logical_date),
        {FRAME_FILE: frame_to_parquet(silver_frame)},
        content_hash=frame_hash(silver_frame),
        rows=len(silver_frame),
        inputs={"bronze_batch": batch_id, "validation": validation_key.relative_path},
    )
    return ValidationOutcome(batch_id=batch_id, validation_uri=validation.uri, silver=silver)
