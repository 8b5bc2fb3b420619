"""Run ingest -> validate -> gold for a range of logical dates in one process.

What the ingest DAG does one date at a time; in one process the Great Expectations
context is built once, which makes the demo, tests and benchmarks fast."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pipelines.lakehouse.expectations import BatchValidator
from pipelines.lakehouse.gold import build_gold
from pipelines.lakehouse.ingest import ingest_batch, landing_uri
from pipelines.lakehouse.validate import validate_batch

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import date

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig
    from pipelines.lakehouse.storage import Lakehouse

log = logging.getLogger("conveyor.backfill")


def process_landed_days(
    platform: PlatformConfig,
    config: ModelConfig,
    lakehouse: Lakehouse,
    logical_dates: Iterable[date],
    *,
    validator: BatchValidator | None = None,
    progress: Callable[[int, date], None] | None = None,
) -> None:
    """Ingest, validate and build gold for each landed batch, in date order.

    Stops at the first rejected batch (BatchRejectedError): later gold would miss its data.
    """
    validator = validator or BatchValidator(config)
    for number, day in enumerate(sorted(logical_dates), start=1):
        ingest_batch(lakehouse, config, day, landing_uri(platform, config, day))
        validate_batch(lakehouse, config, day, validator=validator)
        build_gold(lakehouse, config, day)
        if progress is not None:
            progress(number, day)
