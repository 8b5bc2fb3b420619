"""The prediction log, on SQLite and PostgreSQL: sampled reads that are reproducible,
actuals that later reports correct, and a buffer that keeps rows through a failed write
and writes them at close."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from pipelines.serving.log import BufferedLog, PredictionLog


def rows(count: int, day: date = date(2024, 5, 1)) -> list[dict]:
    return [
        {
            "request_id": f"r{i}",
            "logged_at": datetime(2024, 5, 1, tzinfo=UTC),
            "model": "m",
            "model_version": "1",
            "entity_id": f"A>B{i % 7}",
            "target_date": day + timedelta(days=i % 3),
            "features": {"volume_lag_14d": float(i), "region": "north"},
            "prediction": float(i) / 2,
        }
        for i in range(count)
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def prediction_log(request, tmp_path) -> PredictionLog:
    """The embedded default (SQLite), and PostgreSQL as production runs it."""
    if request.param == "sqlite":
        return PredictionLog(f"sqlite:///{tmp_path}/log/predictions.db")
    return PredictionLog(request.getfixturevalue("postgres_url"))


def test_a_window_comes_back_with_features_as_columns_and_a_large_one_sampled_the_same_way_twice(
    prediction_log,
):
    prediction_log.append(rows(3000))
    window = prediction_log.served("m", date(2024, 5, 1), date(2024, 5, 2))
    assert len(window) == 2000 and {"volume_lag_14d", "region", "prediction", "actual"} <= set(window.columns)
    assert window["actual"].isna().all()
    first = prediction_log.served("m", date(2024, 5, 1), date(2024, 5, 3), max_rows=500, seed=7)
    again = prediction_log.served("m", date(2024, 5, 1), date(2024, 5, 3), max_rows=500, seed=7)
    assert len(first) == 500 and first["id"].tolist() == again["id"].tolist()
    assert prediction_log.served("other", date(2024, 5, 1), date(2024, 5, 3)).empty


def test_a_later_report_of_an_actual_replaces_the_earlier_one(prediction_log):
    prediction_log.append(rows(1))
    report = pd.DataFrame({"entity_id": ["A>B0"], "target_date": [date(2024, 5, 1)], "actual": [10.0]})
    prediction_log.upsert_actuals("m", report, reported_on=date(2024, 5, 2))
    prediction_log.upsert_actuals("m", report.assign(actual=12.0), reported_on=date(2024, 5, 3))
    joined = prediction_log.served("m", date(2024, 5, 1), date(2024, 5, 1))
    assert joined["actual"].tolist() == [12.0]


def test_the_buffer_keeps_rows_through_a_failed_write_and_writes_everything_at_close(prediction_log):
    class FlakyLog(PredictionLog):
        failures = 1

        def append(self, batch):
            if self.failures:
                self.failures -= 1
                raise ConnectionError("database restarting")
            super().append(batch)

    flaky = FlakyLog.__new__(FlakyLog)
    flaky.engine = prediction_log.engine
    buffered = BufferedLog(flaky, flush_seconds=3600)
    buffered.submit(rows(10))
    assert buffered.flush() == 0 and buffered.pending == 10
    buffered.submit(rows(5))
    buffered.close()
    assert prediction_log.count("m") == 15
