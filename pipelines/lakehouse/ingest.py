"""Ingest: copy a landed batch, byte for byte, into bronze."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import fsspec

from pipelines.config.model import ModelConfig
from pipelines.config.platform import PlatformConfig
from pipelines.errors import MissingInputError, PartitionConflictError
from pipelines.lakehouse.storage import (
    FileSource,
    Lakehouse,
    PartitionKey,
    Published,
    bytes_hash,
    copy_and_hash,
)

BATCH_FILE = "batch.csv"


@dataclass(frozen=True)
class IngestResult:
    batch_id: str
    bronze: Published


def landing_uri(platform: PlatformConfig, config: ModelConfig, logical_date: date) -> str:
    """Where the batch for ``logical_date`` lands; ``conveyor generate`` writes there."""
    return f"{platform.landing_uri}/{config.source.name}/{logical_date.isoformat()}.csv"


def batch_id_of(raw: bytes) -> str:
    return bytes_hash(raw)[:16]


def _stage(batch_uri: str, folder: Path) -> tuple[FileSource, int]:
    """Copy the landed batch to a local file a chunk at a time, hashing it on the way, so that
    what is published is exactly what was hashed and no batch is ever held whole in memory."""
    staged = folder / BATCH_FILE
    try:
        with fsspec.open(batch_uri, "rb") as source, staged.open("wb") as target:
            digest, size = copy_and_hash(source, target)
    except FileNotFoundError:
        raise MissingInputError(
            f"no batch at {batch_uri}; land one there (`conveyor generate` does) or pass --file"
        ) from None
    return FileSource(str(staged), digest), size


def ingest_batch(
    lakehouse: Lakehouse, config: ModelConfig, logical_date: date, batch_uri: str
) -> IngestResult:
    """Append the batch at ``batch_uri`` to bronze under ``logical_date``, as it arrived.

    Bronze is append-only: a logical date may hold several batches (a rejected batch and
    its correction), each named by its content hash. Ingesting the same bytes again is a
    no-op. Raises MissingInputError if there is no batch at ``batch_uri``, and
    PartitionConflictError if silver for this date was already published from another batch.
    """
    with tempfile.TemporaryDirectory(prefix="conveyor-ingest-") as folder:
        staged, size = _stage(batch_uri, Path(folder))
        return _publish_bronze(lakehouse, config, logical_date, batch_uri, staged, size)


def _publish_bronze(
    lakehouse: Lakehouse,
    config: ModelConfig,
    logical_date: date,
    batch_uri: str,
    staged: FileSource,
    size: int,
) -> IngestResult:
    batch_id = staged.digest[:16]
    source = config.source.name
    silver = lakehouse.manifest(PartitionKey("silver", source, logical_date))
    if silver is not None and silver.inputs.get("bronze_batch") != batch_id:
        raise PartitionConflictError(
            f"silver {source} {logical_date} is already published from batch"
            f" {silver.inputs.get('bronze_batch')}; batch {batch_id} would change it. Send a"
            " correction as a batch with a later logical date."
        )
    existing = lakehouse.batches("bronze", source, logical_date)
    sequence = next(
        (m.details["sequence"] for m in existing if m.content_hash == staged.digest),
        len(existing) + 1,
    )
    bronze = lakehouse.publish(
        PartitionKey("bronze", source, logical_date, batch=batch_id),
        {BATCH_FILE: staged},
        content_hash=staged.digest,
        details={"sequence": sequence, "landed_at": batch_uri, "bytes": size},
    )
    return IngestResult(batch_id=batch_id, bronze=bronze)
