"""Validate: bronze batch -> silver partition, or -> quarantine with the reasons why.

A batch is read a chunk at a time (chunks.py): Great Expectations checks each chunk with the
suite's row-wise expectations, while the rows are staged out of core (whole_batch.py) for
what needs the whole batch: exact duplicates, the row count, repeated keys, and silver's
sort order. Memory stays flat however large the batch; the verdict, its messages and silver
are those of the whole batch read at once (``parse_batch`` and ``to_silver``, kept as the
reference the tests compare against).
"""

from __future__ import annotations

import html
import io
import json
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, TYPE_CHECKING

from pipelines.config.model import ModelConfig
from pipelines.errors import BatchRejectedError, MissingInputError
from pipelines.lakehouse.chunks import (
    BLOCK_SIZE,
    UnreadableBatch,
    check_shape,
    read_header,
    scan_shape,
    text_chunks,
    typed_chunk,
)
from pipelines.lakehouse.expectations import BatchValidator, SuiteVerdict
from pipelines.lakehouse.ingest import BATCH_FILE
from pipelines.lakehouse.storage import (
    FRAME_FILE,
    FileSource,
    Lakehouse,
    PartitionKey,
    Published,
    pieces_to_parquet,
)
from pipelines.lakehouse.whole_batch import StagedBatch

if TYPE_CHECKING:
    import pandas as pd
    from great_expectations.core import ExpectationSuiteValidationResult

__all__ = ["UnreadableBatch", "parse_batch", "to_silver", "validate_batch"]

RESULT_FILE, REPORT_FILE = "validation.json", "report.html"
_PANDAS_TYPES = {"date": "string", "string": "string"}
_SILVER_TYPES = {"date": "datetime64[ns]", "string": "string", "int": "int64", "float": "float64"}
SILVER_CHUNK_ROWS = 250_000


@dataclass(frozen=True)
class ValidationOutcome:
    batch_id: str
    validation_uri: str
    silver: Published


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


def silver_types(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """The schema's columns, in its order, with silver's types."""
    schema = config.source.schema_
    return frame.astype({c: _SILVER_TYPES[t] for c, t in schema.items()})[list(schema)]


def silver_order(config: ModelConfig) -> list[str]:
    return [config.timestamp_column, *config.entity_keys]


def to_silver(frame: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """Typed and deduplicated, in a stable order so equal data hashes equally."""
    return silver_types(frame, config).sort_values(silver_order(config), ignore_index=True)


def _unreadable_verdict(reason: str) -> SuiteVerdict:
    page = f"<html><body><h1>Batch rejected before validation</h1><p>{html.escape(reason)}</p>"
    return SuiteVerdict(False, [reason], {"success": False, "unreadable": reason}, page, "", 0)


def _validate_chunks(
    handle: IO[bytes],
    columns: list[str],
    config: ModelConfig,
    logical_date: date,
    validator: BatchValidator,
    *,
    block_size: int,
    staged: StagedBatch | None = None,
    dropped: set[int] | None = None,
) -> ExpectationSuiteValidationResult:
    """GX's row-wise expectations over the batch a chunk at a time, merged; staging each
    chunk into ``staged``, or leaving out the rows at positions ``dropped`` (duplicates)."""
    merged, position, kept = None, 0, 0
    for chunk in text_chunks(handle, columns, block_size):
        if staged is not None:
            staged.append(chunk)
        if dropped:
            keep = [p not in dropped for p in range(position, position + chunk.num_rows)]
            position += chunk.num_rows
            chunk = chunk.filter(keep)
            if chunk.num_rows == 0 and merged is not None:
                continue
        merged = validator.validate_chunk(typed_chunk(chunk, config, kept), logical_date, merged)
        kept += chunk.num_rows
    assert merged is not None  # text_chunks yields at least one chunk
    return merged


def check_batch(
    lakehouse: Lakehouse,
    bronze_key: PartitionKey,
    config: ModelConfig,
    logical_date: date,
    validator: BatchValidator,
    staged_in: Path,
    block_size: int = BLOCK_SIZE,
) -> tuple[SuiteVerdict, StagedBatch]:
    """The suite's verdict on a bronze batch, deduplicated as ``drop_duplicates`` would, and
    the batch staged for silver. Raises UnreadableBatch."""
    with lakehouse.open(bronze_key, BATCH_FILE) as handle:
        check_shape(scan_shape(handle), config)
        handle.seek(0)
        columns = read_header(handle)
        handle.seek(0)
        key = validator.unique_key if set(validator.unique_key) <= set(columns) else []
        staged = StagedBatch(staged_in, columns, config.source.schema_, key)
        try:
            merged = _validate_chunks(
                handle, columns, config, logical_date, validator, block_size=block_size, staged=staged
            )
            dropped = staged.duplicate_rows()
            if len(dropped):  # rows sent twice: GX must count each once, as in the whole batch
                handle.seek(0)
                merged = _validate_chunks(
                    handle, columns, config, logical_date, validator,
                    block_size=block_size, dropped=set(dropped.tolist()),
                )  # fmt: skip
            repeated = staged.repeated_keys() if key else None
            return validator.finish(merged, logical_date, staged.distinct_rows(), repeated), staged
        except BaseException:
            staged.close()
            raise


def write_silver(staged: StagedBatch, config: ModelConfig, folder: Path) -> tuple[FileSource, str, int]:
    """The staged batch as silver: typed, in silver's order, written a chunk at a time to a
    local Parquet file. Returns the file, its ``frame_hash`` (as of the whole frame) and rows."""
    import pyarrow as pa

    pieces = (
        silver_types(typed_chunk(pa.Table.from_batches([batch]), config), config)
        for batch in staged.in_order(silver_order(config), SILVER_CHUNK_ROWS)
    )
    return pieces_to_parquet(pieces, folder / FRAME_FILE)


def validate_batch(
    lakehouse: Lakehouse,
    config: ModelConfig,
    logical_date: date,
    *,
    batch_id: str | None = None,
    validator: BatchValidator | None = None,
    block_size: int = BLOCK_SIZE,
) -> ValidationOutcome:
    """Check a bronze batch with the source's expectation suite.

    Reads bronze (the newest batch of ``logical_date`` unless ``batch_id`` names one), a
    chunk of ``block_size`` bytes at a time. Writes the validation result (JSON and GX's
    HTML report) to ``validations/``; then, on success, the typed batch to silver; on
    failure, the batch and its result to ``quarantine/``. Raises BatchRejectedError naming
    every failed expectation, and MissingInputError when there is no batch to validate.
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
    validator = validator or BatchValidator(config)
    with tempfile.TemporaryDirectory(prefix="conveyor-validate-") as scratch:
        folder, staged = Path(scratch), None
        try:
            verdict, staged = check_batch(
                lakehouse, bronze_key, config, logical_date, validator, folder, block_size
            )
        except UnreadableBatch as exc:
            verdict = _unreadable_verdict(str(exc))
        try:
            validation_key = _publish_verdict(lakehouse, bronze_key, verdict, staged is not None)
            assert staged is not None
            silver_file, content_hash, rows = write_silver(staged, config, folder)
        finally:
            if staged is not None:
                staged.close()
        silver = lakehouse.publish(
            PartitionKey("silver", source, logical_date),
            {FRAME_FILE: silver_file},
            content_hash=content_hash,
            rows=rows,
            inputs={"bronze_batch": batch_id, "validation": validation_key.relative_path},
        )
    validation_uri = lakehouse.uri(validation_key)
    return ValidationOutcome(batch_id=batch_id, validation_uri=validation_uri, silver=silver)


def _publish_verdict(
    lakehouse: Lakehouse, bronze_key: PartitionKey, verdict: SuiteVerdict, readable: bool
) -> PartitionKey:
    """Publish the validation result; on failure quarantine the batch and raise
    BatchRejectedError. Returns the validation's key."""
    source, logical_date, batch_id = bronze_key.source, bronze_key.logical_date, bronze_key.batch
    identity = f"{batch_id}:{verdict.suite_name}:v{verdict.suite_version}"
    result_files = {
        RESULT_FILE: json.dumps(verdict.result, indent=2, default=str).encode(),
        REPORT_FILE: verdict.html.encode(),
    }
    validation_key = PartitionKey("validations", source, logical_date, batch=batch_id)
    lakehouse.publish(
        validation_key,
        result_files,
        content_hash=identity,
        details={"success": verdict.success, "problems": verdict.problems},
    )
    if not verdict.success or not readable:
        quarantine = lakehouse.publish(
            PartitionKey("quarantine", source, logical_date, batch=batch_id),
            {BATCH_FILE: lakehouse.file_source(bronze_key, BATCH_FILE), **result_files},
            content_hash=identity,
            details={"problems": verdict.problems},
        )
        listing = "\n".join(f"  - {problem}" for problem in verdict.problems)
        raise BatchRejectedError(
            f"batch {batch_id} of {source} {logical_date} failed validation:\n{listing}\n"
            f"It is quarantined at {quarantine.uri} (report: {REPORT_FILE}); silver and gold"
            " were not written. Fix the data and ingest a corrected batch."
        )
    return validation_key
