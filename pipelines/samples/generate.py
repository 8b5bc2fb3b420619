"""Generate: write a sample scenario's batches to the landing area, as a source system would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

import fsspec

from pipelines.config.model import LagFeatures, ModelConfig
from pipelines.config.platform import PlatformConfig
from pipelines.errors import ConfigError
from pipelines.lakehouse.ingest import landing_uri
from pipelines.samples import freight, search, search_words
from pipelines.samples.corruption import CORRUPTION_KINDS, batch_columns, batch_to_csv, corrupt_batch

if TYPE_CHECKING:
    import pandas as pd

Scenario = TypeVar("Scenario")


@dataclass(frozen=True)
class SampleSource:
    """A source's generator: its shift kinds, the size options it takes, how it makes batches."""

    shifts: tuple[str, ...]
    sizes: tuple[str, ...]
    batches: Callable[[ModelConfig, dict[str, Any]], dict[date, pd.DataFrame]]
    vocabulary: Callable[[], list[str]] | None = None  # every word of its text columns


def _scenario(kind: Callable[..., Scenario], **fields: Any) -> Scenario:
    try:
        return kind(**fields)
    except ValueError as exc:  # a size or date the scenario cannot have
        raise ConfigError(f"cannot generate this scenario: {exc}") from None


def _freight_batches(config: ModelConfig, scenario: dict[str, Any]) -> dict[date, pd.DataFrame]:
    if isinstance(config.features, LagFeatures):
        scenario = {**scenario, "holiday_country": config.features.holiday_country}
    return freight.batches_by_logical_date(_scenario(freight.FreightScenario, **scenario))


def _search_batches(config: ModelConfig, scenario: dict[str, Any]) -> dict[date, pd.DataFrame]:
    delay = config.source.max_report_delay_days
    return search.batches_by_logical_date(
        _scenario(search.SearchScenario, **scenario, report_delay_days=delay)
    )


SAMPLE_SOURCES = {
    "freight": SampleSource(freight.SHIFT_KINDS, ("routes",), _freight_batches),
    "search": SampleSource(
        search.SHIFT_KINDS, ("queries", "queries_per_day"), _search_batches, search_words.vocabulary
    ),
}


def _option(size: str) -> str:
    return "--" + size.replace("_", "-")


def sample_source(config: ModelConfig, shift: str | None, sizes: dict[str, int | None]) -> SampleSource:
    """The generator of the config's source, after checking that the shift and sizes fit it."""
    name = config.source.name
    generator = SAMPLE_SOURCES.get(name)
    if generator is None:
        raise ConfigError(
            f"there is no sample data generator for source {name!r};"
            f" sources with one: {', '.join(SAMPLE_SOURCES)}"
        )
    if shift is not None and shift not in generator.shifts:
        raise ConfigError(
            f"unknown shift {shift!r} for source {name!r}; use one of {', '.join(generator.shifts)}"
        )
    misplaced = [size for size, value in sizes.items() if value is not None and size not in generator.sizes]
    if misplaced:
        raise ConfigError(
            f"{', '.join(map(_option, misplaced))} does not size source {name!r};"
            f" its sizes: {', '.join(map(_option, generator.sizes))}"
        )
    return generator


def generate_batches(
    platform: PlatformConfig,
    config: ModelConfig,
    *,
    start: date,
    days: int,
    routes: int | None = None,
    queries: int | None = None,
    queries_per_day: int | None = None,
    seed: int = 0,
    shift: str | None = None,
    shift_start: date | None = None,
    corrupt: str | None = None,
    corrupt_date: date | None = None,
) -> list[date]:
    """Write one CSV per logical date to the landing area; returns the logical dates written.

    Sizes apply to one source each (``routes``: freight; ``queries``, ``queries_per_day``:
    search); left out, the scenario's default. Raises ConfigError for a source without a
    generator, a shift or size that is not that source's, or an unknown corruption.
    """
    sizes = {"routes": routes, "queries": queries, "queries_per_day": queries_per_day}
    generator = sample_source(config, shift, sizes)
    if corrupt is not None and corrupt not in CORRUPTION_KINDS:
        raise ConfigError(f"unknown corruption {corrupt!r}; use one of {', '.join(CORRUPTION_KINDS)}")
    if (shift is None) != (shift_start is None) or (corrupt is None) != (corrupt_date is None):
        raise ConfigError("--shift needs --shift-start and --corrupt needs --corrupt-date")
    scenario = {"start": start, "days": days, "seed": seed, "shift": shift, "shift_start": shift_start}
    scenario.update({size: value for size, value in sizes.items() if value is not None})
    batches = generator.batches(config, scenario)
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
                columns=batch_columns(config),
                logical_date=logical_date,
                max_rows=config.source.max_rows_per_batch,
                seed=seed,
            )
        else:
            data = batch_to_csv(batch)
        with fsspec.open(landing_uri(platform, config, logical_date), "wb", auto_mkdir=True) as out:
            out.write(data)
    return sorted(batches)
