"""Gold features must be point-in-time correct: no row may see a value reported after its
as-of date. These tests build cases where a leak would show."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from pipelines.lakehouse.gold import compute_features, lookback_start

AS_OF = date(2024, 3, 31)


def history(rows: list[tuple[str, int, str]]) -> pd.DataFrame:
    """rows: (service day, volume, reported day) for the route NOR-01 > SOU-02."""
    return pd.DataFrame(
        {
            "date": pd.to_datetime([r[0] for r in rows]),
            "origin": "NOR-01",
            "destination": "SOU-02",
            "region": "north",
            "volume": [r[1] for r in rows],
            "logical_date": pd.to_datetime([r[2] for r in rows]),
        }
    )


def daily(start: date, end: date, volume: int = 10, delay: int = 2) -> list[tuple[str, int, str]]:
    days = pd.date_range(start, end)
    return [(d.date().isoformat(), volume, (d + timedelta(days=delay)).date().isoformat()) for d in days]


def test_lags_and_means_are_exact(freight_config):
    # Volume = day of month, reported two days later; as of March 31 (target April 7).
    rows = [
        (d.date().isoformat(), d.day, (d + timedelta(days=2)).date().isoformat())
        for d in pd.date_range("2024-02-15", "2024-03-31")
    ]
    features = compute_features(history(rows), AS_OF, freight_config).iloc[0]
    assert features["date"] == pd.Timestamp("2024-04-07")
    assert features["volume_lag_14d"] == 24  # March 24
    assert features["volume_lag_21d"] == 17  # March 17
    assert features["volume_lag_28d"] == 10  # March 10
    # Known on March 31: service days up to March 29. Last 7 days: 25..29 (30, 31 not yet).
    assert features["volume_mean_7d"] == pytest.approx(sum(range(25, 30)) / 5)
    assert features["entity_id"] == "NOR-01>SOU-02"
    assert features["day_of_week"] == 6  # April 7, 2024 is a Sunday


def test_a_value_reported_after_the_as_of_date_is_never_seen(freight_config):
    clean = daily(date(2024, 2, 15), date(2024, 3, 28))
    # March 24 is restated with a spike on April 2, after the as-of date.
    late_spike = [("2024-03-24", 10_000, "2024-04-02")]
    features = compute_features(history(clean), AS_OF, freight_config)
    leaky = compute_features(history(clean + late_spike), AS_OF, freight_config)
    pd.testing.assert_frame_equal(features, leaky)
    # The same spike reported in time is seen: the test can tell the difference.
    seen = compute_features(history([*clean, ("2024-03-24", 10_000, "2024-03-30")]), AS_OF, freight_config)
    assert seen.iloc[0]["volume_lag_14d"] == 10_000


def test_a_future_service_day_is_never_seen(freight_config):
    clean = daily(date(2024, 2, 15), date(2024, 3, 28))
    future = [("2024-04-05", 10_000, "2024-03-31")]  # bad data claiming a future day
    with_future = compute_features(history(clean + future), AS_OF, freight_config)
    assert with_future.iloc[0]["volume_mean_7d"] == 10
    assert with_future.iloc[0]["volume_mean_28d"] == 10


def test_missing_history_gives_missing_features_not_zeros(freight_config):
    features = compute_features(history(daily(date(2024, 3, 20), date(2024, 3, 28))), AS_OF, freight_config)
    assert pd.isna(features.iloc[0]["volume_lag_28d"])
    assert features.iloc[0]["volume_mean_7d"] == 10


def test_holidays_come_from_the_configured_calendar(freight_config):
    # Easter Monday 2024 (April 1) in Germany; as of March 25 with a 7-day horizon.
    features = compute_features(
        history(daily(date(2024, 3, 1), date(2024, 3, 22))), date(2024, 3, 25), freight_config
    )
    assert features.iloc[0]["is_holiday"] == 1


def test_lookback_covers_the_longest_lag_and_window(freight_config):
    assert lookback_start(AS_OF, freight_config) == AS_OF - timedelta(days=27)
