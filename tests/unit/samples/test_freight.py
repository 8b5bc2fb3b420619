from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from pipelines.lakehouse.storage import frame_hash
from pipelines.samples.freight import (
    BATCH_COLUMNS,
    NEW_REGION,
    FreightScenario,
    batches_by_logical_date,
    generate_actuals,
    stations_per_region,
)

START = date(2024, 1, 1)


def scenario(**overrides) -> FreightScenario:
    return FreightScenario(**{"start": START, "days": 120, "routes": 30, "seed": 3, **overrides})


def test_same_seed_same_data_other_seed_other_data():
    pd.testing.assert_frame_equal(generate_actuals(scenario()), generate_actuals(scenario()))
    assert not generate_actuals(scenario()).equals(generate_actuals(scenario(seed=4)))


def test_every_route_has_one_volume_a_day():
    actuals = generate_actuals(scenario())
    assert len(actuals) == 30 * 120
    assert not actuals.duplicated(["date", "origin", "destination"]).any()
    assert (actuals["volume"] >= 0).all()


def test_weekends_and_holidays_carry_less_freight():
    actuals = generate_actuals(scenario(days=365))
    weekday = actuals["date"].dt.weekday
    assert actuals.loc[weekday == 6, "volume"].mean() < 0.6 * actuals.loc[weekday == 1, "volume"].mean()
    christmas = actuals["date"] == pd.Timestamp("2024-12-25")
    next_wednesday = actuals["date"] == pd.Timestamp("2024-12-18")
    assert actuals.loc[christmas, "volume"].mean() < 0.5 * actuals.loc[next_wednesday, "volume"].mean()


def test_regions_differ_in_volume():
    means = generate_actuals(scenario(routes=80)).groupby("region")["volume"].mean()
    assert means["east"] > means["south"] * 1.2


def test_actuals_are_reported_one_to_three_days_late():
    actuals = generate_actuals(scenario())
    delay = (actuals["reported_on"] - actuals["date"]).dt.days
    assert delay.min() == 1 and delay.max() == 3


def test_a_batch_holds_what_was_reported_on_its_logical_date():
    batches = batches_by_logical_date(scenario())
    assert min(batches) == START + timedelta(days=1)
    assert max(batches) == START + timedelta(days=120)
    for logical_date, batch in batches.items():
        assert list(batch.columns) == BATCH_COLUMNS
        days = pd.to_datetime(batch["date"]).dt.date
        assert days.max() < logical_date
        assert days.min() >= logical_date - timedelta(days=3)


@pytest.mark.parametrize("kind", ["new_region", "new_stations", "scale"])
def test_a_shift_changes_only_what_follows_its_start(kind):
    shift_start = START + timedelta(days=90)
    clean = generate_actuals(scenario())
    shifted = generate_actuals(scenario(shift=kind, shift_start=shift_start))
    keys = ["date", "origin", "destination"]
    before = shifted[shifted["date"] < pd.Timestamp(shift_start)]
    pd.testing.assert_frame_equal(
        before.sort_values(keys, ignore_index=True),
        clean[clean["date"] < pd.Timestamp(shift_start)].sort_values(keys, ignore_index=True),
    )
    after = shifted[shifted["date"] >= pd.Timestamp(shift_start)]
    clean_after = clean[clean["date"] >= pd.Timestamp(shift_start)]
    if kind == "new_region":
        assert set(after["region"]) - set(clean_after["region"]) == {NEW_REGION}
    elif kind == "new_stations":
        assert len(after) > len(clean_after)
        assert set(after["region"]) == set(clean_after["region"])
    else:
        assert after["volume"].sum() == pytest.approx(clean_after["volume"].sum() * 1.6, rel=0.01)


def test_a_shift_needs_a_start_day():
    with pytest.raises(ValueError, match="shift_start"):
        FreightScenario(start=START, days=10, shift="scale")


def test_more_routes_than_the_stations_make_get_more_stations_and_fewer_leave_the_rows_as_they_were():
    many = generate_actuals(FreightScenario(start=START, days=2, routes=4000))
    assert many[["origin", "destination"]].drop_duplicates().shape[0] == 4000
    assert stations_per_region(FreightScenario(start=START, days=2, routes=4000)) == 16
    assert stations_per_region(FreightScenario(start=START, days=2, routes=380)) == 5
    # Hashes of these scenarios' rows before the stations grew with the routes (5 a region
    # make 380 routes): up to 380, every row stays what it was.
    unchanged = {
        (40, 30): "d75182935ba073793a6cd24e714fde76b9175c4e807c24d0424d6e647e6567e8",
        (380, 5): "a8bb33d648b5b96a396180f7e74cd7e2f77f7e03c710c69fe70fd632ed7ab544",
    }
    for (routes, days), digest in unchanged.items():
        assert frame_hash(generate_actuals(FreightScenario(start=START, days=days, routes=routes))) == digest
