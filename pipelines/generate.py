"""Generate: write a sample scenario's batches to the landing area, as a source system would."""

from __future__ import annotations

from datetime import date

import fsspec

from pipelines.config import ModelConfig, PlatformConfig
from pipelines.data.corruption import CORRUPTION_KINDS, batch_to_csv, corrupt_batch
from pipelines.data.freight import SHIFT_KINDS, FreightScenario, batches_by_logical_date
from pipelines.errors import ConfigError
from pipelines.ingest import landing_uri


def generate_batches(
    platform: PlatformConfig,
    config: ModelConfig,
    *,
    start: date,
    days: int,
    routes: int = 40,
    seed: int = 0,
    shift: str | None = None,
    shift_start: date | None = None,
    corrupt: str | None = None,
    corrupt_date: date | None = None,
) -> list[date]:
    """Write one CSV per logical date to the landing area; returns the logical dates written.

    Raises ConfigError for a source without a generator or an unknown shift or corruption.
    """
    if config.source.name != "freight":
        raise ConfigError(f"there is no sample data generator for source {config.source.name!r}")
    if shift is not None and shift not in SHIFT_KINDS:
        raise ConfigError(f"unknown shift {shift!r}; use one of {', '.join(SHIFT_KINDS)}")
    if corrupt is not None and corrupt not in CORRUPTION_KINDS:
        raise ConfigError(f"unknown corruption {corrupt!r}; use one of {', '.join(CORRUPTION_KINDS)}")
    if (shift is None) != (shift_start is None) or (corrupt is None) != (corrupt_date is None):
        raise ConfigError("--shift needs --shift-start and --corrupt needs --corrupt-date")
    scenario = FreightScenario(
        start=start,
        days=days,
        routes=routes,
        seed=seed,
        holiday_country=config.features.holiday_country,
        shift=shift,
        shift_start=shift_start,
    )
    batches = batches_by_logical_date(scenario)
    if corrupt_date is not None and corrupt_date not in batches:
        raise ConfigError(
            f"--corrupt-date {corrupt_date} is not a logical date of this scenario"
            f" ({min(batches)} .. {max(batches)})"
        )
    for logical_date, batch in batches.items():
        if logical_date == corrupt_date:
            data = corrupt_batch(
                batch,
                corrupt,  # type: ignore[arg-type]  # checked against CORRUPTION_KINDS above
                logical_date=logical_date,
                max_rows=config.source.max_rows_per_batch,
                seed=seed,
            )
        else:
            data = batch_to_csv(batch)
        with fsspec.open(landing_uri(platform, config, logical_date), "wb", auto_mkdir=True) as out:
            out.write(data)
    return sorted(batches)
