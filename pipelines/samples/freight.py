"""Sample data for the reference use case: freight volume between railway station pairs.

Daily car loads per (origin, destination) route with weekly and yearly seasonality,
public holidays, region effects and noise. Actuals are reported 1 to ``max_report_delay``
days after the fact, so the batch that arrives on a day (its logical date) carries the
volumes of a few earlier days. Shift knobs reproduce what degrades a model in production:
a new region, a change of scale (units), new stations. Seeded and deterministic: the same
scenario always gives the same rows, and a shift never changes the rows it did not add.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

ShiftKind = Literal["new_region", "scale", "new_stations"]
SHIFT_KINDS: tuple[ShiftKind, ...] = ("new_region", "scale", "new_stations")

REGION_FACTORS = {"north": 1.0, "south": 0.8, "east": 1.25, "west": 0.9}
NEW_REGION, NEW_REGION_FACTOR = "far_east", 3.0
# Monday .. Sunday: freight moves on working days.
WEEKDAY_FACTORS = np.array([1.0, 1.05, 1.05, 1.0, 0.95, 0.55, 0.4])
HOLIDAY_FACTOR = 0.3
BATCH_COLUMNS = ["date", "origin", "destination", "region", "volume"]


@dataclass(frozen=True)
class FreightScenario:
    """What to generate: service days ``start`` .. ``start + days - 1`` on ``routes`` routes."""

    start: date
    days: int
    routes: int = 40
    stations_per_region: int = 5
    seed: int = 0
    max_report_delay: int = 3
    holiday_country: str = "DE"
    shift: ShiftKind | None = None
    shift_start: date | None = None
    scale_factor: float = 1.6

    def __post_init__(self) -> None:
        if self.days <= 0 or self.routes <= 0:
            raise ValueError("days and routes must be positive")
        if self.shift is not None and self.shift not in SHIFT_KINDS:
            raise ValueError(f"unknown shift {self.shift!r}; use one of {', '.join(SHIFT_KINDS)}")
        if self.shift is not None and self.shift_start is None:
            raise ValueError("a shift needs shift_start, the first day it applies")


def stations_per_region(scenario: FreightScenario) -> int:
    """``scenario.stations_per_region``, or more when its routes need them: ``n`` stations in
    all make ``n * (n - 1)`` routes (380 for 4 regions of 5). Rows of a scenario the default
    stations can hold are the same as before this grew."""
    count = scenario.stations_per_region
    while len(REGION_FACTORS) * count * (len(REGION_FACTORS) * count - 1) < scenario.routes:
        count += 1
    return count


def _stations(region: str, count: int, first: int = 1) -> list[str]:
    return [f"{region[:3].upper()}-{number:02d}" for number in range(first, first + count)]


def _routes(rng: np.random.Generator, stations: list[tuple[str, str]], count: int) -> pd.DataFrame:
    pairs = [(o, d, region) for o, region in stations for d, _ in stations if o != d]
    chosen = rng.choice(len(pairs), size=min(count, len(pairs)), replace=False)
    routes = pd.DataFrame([pairs[i] for i in sorted(chosen)], columns=["origin", "destination", "region"])
    # Each route has its own typical size: a few busy corridors, many small ones.
    routes["base"] = rng.lognormal(mean=np.log(30), sigma=0.6, size=len(routes))
    return routes


def _daily_volumes(
    rng: np.random.Generator,
    routes: pd.DataFrame,
    days: pd.DatetimeIndex,
    holiday_days: set[date],
    region_factors: dict[str, float],
) -> pd.DataFrame:
    grid = routes.merge(pd.DataFrame({"date": days}), how="cross")
    weekday = grid["date"].dt.weekday.to_numpy()
    day_of_year = grid["date"].dt.dayofyear.to_numpy()
    is_holiday = grid["date"].dt.date.isin(holiday_days).to_numpy()
    mean = (
        grid["base"].to_numpy()
        * grid["region"].map(region_factors).to_numpy()
        * WEEKDAY_FACTORS[weekday]
        * (1 + 0.2 * np.sin(2 * np.pi * (day_of_year - 80) / 365.25))
        * np.where(is_holiday, HOLIDAY_FACTOR, 1.0)
    )
    noisy_mean = mean * rng.gamma(shape=25.0, scale=1 / 25.0, size=len(grid))
    grid["volume"] = rng.poisson(noisy_mean).astype("int64")
    return grid.drop(columns="base")


def generate_actuals(scenario: FreightScenario) -> pd.DataFrame:
    """Every route's volume on every service day, with the day it was reported."""
    import holidays

    days = pd.date_range(scenario.start, periods=scenario.days, freq="D")
    holiday_days = set(holidays.country_holidays(scenario.holiday_country, years=sorted(set(days.year))))
    base_rng = np.random.default_rng([scenario.seed, 0])
    stations = [
        (code, region)
        for region in REGION_FACTORS
        for code in _stations(region, stations_per_region(scenario))
    ]
    routes = _routes(base_rng, stations, scenario.routes)
    frame = _daily_volumes(base_rng, routes, days, holiday_days, REGION_FACTORS)
    frame = _apply_shift(scenario, frame, days, holiday_days)

    delay_rng = np.random.default_rng([scenario.seed, 2])
    delays = delay_rng.integers(1, scenario.max_report_delay + 1, size=len(frame))
    frame["reported_on"] = frame["date"] + pd.to_timedelta(delays, unit="D")
    return frame.sort_values(["date", "origin", "destination"], ignore_index=True)


def _apply_shift(
    scenario: FreightScenario,
    frame: pd.DataFrame,
    days: pd.DatetimeIndex,
    holiday_days: set[date],
) -> pd.DataFrame:
    if scenario.shift is None or scenario.shift_start is None:
        return frame
    shifted_days = days[days >= pd.Timestamp(scenario.shift_start)]
    shift_rng = np.random.default_rng([scenario.seed, 1])
    if scenario.shift == "scale":
        # The source switched units: every volume from then on is larger by a fixed factor.
        after = frame["date"] >= pd.Timestamp(scenario.shift_start)
        frame.loc[after, "volume"] = np.round(frame.loc[after, "volume"] * scenario.scale_factor)
        frame["volume"] = frame["volume"].astype("int64")
        return frame
    if scenario.shift == "new_region":
        stations = [(code, NEW_REGION) for code in _stations(NEW_REGION, scenario.stations_per_region)]
        factors = {NEW_REGION: NEW_REGION_FACTOR}
    else:  # new_stations: new stations open in the existing regions
        first = stations_per_region(scenario) + 50
        stations = [(code, region) for region in REGION_FACTORS for code in _stations(region, 2, first)]
        factors = REGION_FACTORS
    routes = _routes(shift_rng, stations, max(4, scenario.routes // 2))
    added = _daily_volumes(shift_rng, routes, shifted_days, holiday_days, factors)
    return pd.concat([frame, added], ignore_index=True)


def batches_by_logical_date(scenario: FreightScenario) -> dict[date, pd.DataFrame]:
    """The batches that arrive each day, keyed by logical date (the day they were reported).

    Logical dates run from the day after ``start`` to ``start + days``: each of them carries
    every row reported that day. Rows reported later belong to batches outside the scenario.
    """
    actuals = generate_actuals(scenario)
    last = pd.Timestamp(scenario.start + timedelta(days=scenario.days))
    batches = {}
    for reported_on, rows in actuals[actuals["reported_on"] <= last].groupby("reported_on"):
        batch = rows[BATCH_COLUMNS].copy()
        batch["date"] = batch["date"].dt.strftime("%Y-%m-%d")
        batches[pd.Timestamp(reported_on).date()] = batch.reset_index(drop=True)
    return batches
