"""Monitoring the ranking model, search_relevance: its champion serves a week of the
queries its logs show, the graded actuals arrive a day late, and the checks measure live
NDCG@10 per result list (per topic and language too), and drift with the query and
document text, which sees the generator's language_mix and new_topics shifts and stays
quiet on clean traffic."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.backfill import process_landed_days
from pipelines.local.cycle import run_training_cycle
from pipelines.monitor.actuals import ingest_actuals
from pipelines.monitor.drift import check_drift
from pipelines.monitor.performance import check_performance
from pipelines.samples.generate import generate_batches
from pipelines.serving.log import PredictionLog
from pipelines.training.tracking import mlflow_client
from tests.integration.conftest import serve_traffic

START, TRAINED_AS_OF = date(2024, 1, 1), date(2024, 2, 5)
SHIFT_START, CHECK_DAY = date(2024, 2, 7), date(2024, 2, 13)
# The generator's default: with fewer queries a day the test set holds too few result lists
# for the click counts of a handful of popular queries not to read as drift on clean days.
QUERIES_PER_DAY = 40


@pytest.fixture(scope="module")
def search_champion_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five weeks of search logs through gold, the base weights, and a champion trained as
    of February 5 (one epoch: on this data it ranks the test set as well as three)."""
    home = tmp_path_factory.mktemp("search-champion")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONVEYOR_HOME", str(home))
        platform, config = load_platform_config(), load_model_config("search_relevance")
        lakehouse = Lakehouse(platform.lakehouse_uri)
        days = generate_batches(platform, config, start=START, days=(TRAINED_AS_OF - START).days,
                                queries_per_day=QUERIES_PER_DAY)  # fmt: skip
        process_landed_days(platform, config, lakehouse, days)
        command = [sys.executable, "-m", "pipelines", "weights", "init", "-m", "search_relevance"]
        subprocess.run(
            command, check=True, capture_output=True, env={**os.environ, "CONVEYOR_HOME": str(home)}
        )
        cycle = run_training_cycle(platform, config, lakehouse, mlflow_client(platform), as_of=TRAINED_AS_OF,
                                   trigger_reason="manual", overrides={"epochs": 1})  # fmt: skip
        assert cycle.promotion is not None, cycle.decision
    return home


@pytest.fixture
def model_home(search_champion_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    shutil.copytree(search_champion_home, home)
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    return home


def arrive(shift: str | None) -> tuple:
    """The logs after training arrive up to the day after the check day; the service ranks
    each day's results, and the monitor loads the actuals every day as they come."""
    platform, config = load_platform_config(), load_model_config("search_relevance")
    lakehouse = Lakehouse(platform.lakehouse_uri)
    days = generate_batches(platform, config, start=START, days=(CHECK_DAY - START).days + 2,
                            queries_per_day=QUERIES_PER_DAY, shift=shift,
                            shift_start=SHIFT_START if shift else None)  # fmt: skip
    process_landed_days(platform, config, lakehouse, [d for d in days if d > TRAINED_AS_OF])
    horizon = timedelta(days=config.features.horizon_days)
    serve_traffic(TRAINED_AS_OF + timedelta(days=1), CHECK_DAY + horizon, model=config.name)
    prediction_log = PredictionLog(platform.serving.prediction_log_url)
    for day in (d for d in days if TRAINED_AS_OF < d <= CHECK_DAY):
        loaded = ingest_actuals(prediction_log, lakehouse, config, day)
        assert loaded.rows > 0 and str(loaded.last_day) < str(day)  # a day's logs come the next day
    return platform, config, lakehouse, mlflow_client(platform)


@pytest.mark.parametrize("shift", [None, "language_mix", "new_topics"])
def test_live_ndcg_holds_and_drift_fires_on_new_text_only(model_home, shift):
    platform, config, lakehouse, client = arrive(shift)
    performance = check_performance(platform, config, client, CHECK_DAY)
    drift = check_drift(platform, config, lakehouse, client, CHECK_DAY)

    # The champion ranks the week's result lists about as well as its test set's.
    threshold = config.triggers.performance.threshold
    assert performance.rows > 0 and performance.details["lists"] >= 200, performance.to_dict()
    assert performance.value is not None and performance.value > threshold and not performance.breached
    assert 0 < performance.details["mrr"] <= 1
    assert set(performance.details["slices"]["language"]) == {"en", "de", "fr", "es"}
    assert {"travel", "cooking"} <= set(performance.details["slices"]["topic"])

    drifted = set(drift.details["drifted_columns"])
    assert drift.details["source"] == "served" and drift.rows > 0
    assert drift.breached is (shift is not None), drift.to_dict()
    # Spanish queries read unlike the known ones; new topics show most in the documents.
    expected = {None: set(), "language_mix": {"query"}, "new_topics": {"document"}}[shift]
    assert drifted & {"query", "document"} >= expected, drift.to_dict()
    if shift is None:
        assert not drifted & {"query", "document"}, drift.to_dict()
    assert "doc_age_days" not in drift.details["columns"]
    assert Path(drift.report_uri).read_text().lstrip().lower().startswith("<!doctype html")
    assert Path(drift.report_uri.replace(".html", ".json")).exists()

    if shift is None:
        # Below the threshold is worse for NDCG: a stricter one is breached.
        strict = config.triggers.performance.model_copy(update={"threshold": 0.95})
        stricter = config.model_copy(
            update={"triggers": config.triggers.model_copy(update={"performance": strict})}
        )
        assert check_performance(platform, stricter, client, CHECK_DAY).breached
