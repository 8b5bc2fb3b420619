"""Gold for query-document pairs is point-in-time correct: a day's own clicks are its
label, never its features, and nothing reported after the as-of date is seen."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.config.load import load_model_config
from pipelines.lakehouse.gold import compute_features, lookback_start

AS_OF = date(2024, 3, 31)


@pytest.fixture
def search_config():
    return load_model_config("search_relevance")


def logs(rows: list[tuple[str, str, int, int, float, str]]) -> pd.DataFrame:
    """rows: (day, doc_id, impressions, clicks, dwell_seconds, reported day) for query q-0001."""
    return pd.DataFrame(
        {
            "date": pd.to_datetime([r[0] for r in rows]),
            "query_id": "q-0001",
            "query": "rail freight",
            "language": "en",
            "topic": "transport",
            "doc_id": [r[1] for r in rows],
            "document": "freight trains carry goods",
            "published": pd.Timestamp("2024-01-01"),
            "impressions": [r[2] for r in rows],
            "clicks": [r[3] for r in rows],
            "dwell_seconds": [r[4] for r in rows],
            "relevance": 0,
            "logical_date": pd.to_datetime([r[5] for r in rows]),
        }
    )


def test_window_statistics_see_only_what_was_reported_by_the_as_of_date(search_config):
    features = compute_features(
        logs([
            ("2024-03-29", "d-1", 10, 2, 30.0, "2024-03-30"),
            ("2024-03-30", "d-1", 10, 4, 60.0, "2024-03-31"),
            ("2024-03-31", "d-1", 10, 10, 500.0, "2024-04-01"),  # reported the next day: unseen
            ("2024-04-01", "d-1", 10, 10, 500.0, "2024-03-31"),  # dated after the as-of day: unseen
            ("2024-02-01", "d-1", 100, 100, 500.0, "2024-02-02"),  # outside the 28-day window
            ("2024-03-30", "d-2", 5, 0, 0.0, "2024-03-31"),
        ]),
        AS_OF,
        search_config,
    )  # fmt: skip
    by_doc = features.set_index("doc_id")
    assert by_doc.loc["d-1", "impressions_28d"] == 20
    assert by_doc.loc["d-1", "ctr_28d"] == pytest.approx(6 / 20)
    assert by_doc.loc["d-1", "dwell_mean_28d"] == pytest.approx((2 * 30 + 4 * 60) / 6)
    assert by_doc.loc["d-2", "ctr_28d"] == 0 and by_doc.loc["d-2", "dwell_mean_28d"] == 0
    # For the next day's results, which the day's own clicks will label.
    assert set(features["event_timestamp"]) == {pd.Timestamp("2024-04-01", tz="UTC")}
    assert by_doc.loc["d-1", "doc_age_days"] == (date(2024, 4, 1) - date(2024, 1, 1)).days
    assert list(by_doc.loc["d-1", ["query", "document", "topic", "language"]]) == [
        "rail freight", "freight trains carry goods", "transport", "en"
    ]  # fmt: skip
    assert by_doc.loc["d-1", "entity_id"] == "q-0001>d-1"


def test_a_restated_day_counts_once_with_its_latest_report(search_config):
    features = compute_features(
        logs([
            ("2024-03-30", "d-1", 10, 1, 10.0, "2024-03-30"),
            ("2024-03-30", "d-1", 10, 5, 10.0, "2024-03-31"),
            ("2024-03-29", "d-1", 10, 0, 0.0, "2024-03-30"),
            ("2024-03-29", "d-1", 10, 3, 20.0, "2024-03-31"),
        ]),
        AS_OF,
        search_config,
    )  # fmt: skip
    assert features.loc[0, "impressions_28d"] == 20 and features.loc[0, "ctr_28d"] == pytest.approx(8 / 20)


def test_the_lookback_is_the_window(search_config):
    assert lookback_start(AS_OF, search_config) == date(2024, 3, 4)
