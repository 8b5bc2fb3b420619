"""Integration fixtures: a copy per test of the home with a champion (``champion_home``,
tests/conftest.py), search homes, and a throwaway Airflow home for tests that run DAGs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.config.model import ModelConfig
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.airflow import airflow_environment
from pipelines.local.cycle import run_training_cycle
from pipelines.training.tracking import mlflow_client
from tests.conftest import built_once

SEARCH_DAYS, SEARCH_AS_OF = 36, date(2024, 2, 5)
TOKEN = "a-generated-serving-token"
MACHINE_REDIS = "127.0.0.1:6379"


@pytest.fixture(scope="session")
def search_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five weeks of search logs (20 queries a day) through gold, and the base weights of
    the search model's encoder, built once per test run."""
    from pipelines.local.backfill import process_landed_days
    from pipelines.samples.generate import generate_batches

    def build(home: Path) -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CONVEYOR_HOME", str(home))
            platform, config = load_platform_config(), load_model_config("search_relevance")
            days = generate_batches(
                platform, config, start=date(2024, 1, 1), days=SEARCH_DAYS, queries_per_day=20
            )
            process_landed_days(platform, config, Lakehouse(platform.lakehouse_uri), days)
            command = [sys.executable, "-m", "pipelines", "weights", "init", "-m", "search_relevance"]
            subprocess.run(
                command, check=True, capture_output=True, env={**os.environ, "CONVEYOR_HOME": str(home)}
            )

    return built_once(tmp_path_factory, "search", build)


@pytest.fixture(scope="session")
def search_champion_home(search_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of ``search_home`` whose search_relevance champion (version 1) was trained as
    of SEARCH_AS_OF, once per test run. Its online store holds the last gold day's rows, as
    ingest left it."""

    def build(home: Path) -> None:
        shutil.copytree(search_home, home, dirs_exist_ok=True)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CONVEYOR_HOME", str(home))
            platform, config = load_platform_config(), load_model_config("search_relevance")
            run_training_cycle(platform, config, Lakehouse(platform.lakehouse_uri), mlflow_client(platform),
                               as_of=SEARCH_AS_OF, trigger_reason="manual")  # fmt: skip

    return built_once(tmp_path_factory, "search-champion", build)


@pytest.fixture
def served_home(champion_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the champion's home for one test.

    MLflow keeps absolute artifact paths, so the copy shares the champion's artifacts."""
    home = tmp_path / "home"
    shutil.copytree(champion_home, home)
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    return home


@pytest.fixture
def airflow_env(model_home: Path, tmp_path: Path) -> dict[str, str]:
    return airflow_environment(model_home, tmp_path / "airflow")


def serve_traffic(first: date, last: date, batch_size: int = 50, model: str = "freight_volume") -> int:
    """Requests for target days [first, last], answered by the model's champion through the
    service in process; returns the rows served. Leaving the client shuts the service
    down, which writes the prediction log. Freight asks for every route gold has
    features for; a ranking model for the results its source's logs show (see
    ``logged_instances``)."""
    from fastapi.testclient import TestClient

    from pipelines.samples.traffic import gold_instances, send
    from pipelines.serving.app import service

    platform, config = load_platform_config(), load_model_config(model)
    lakehouse = Lakehouse(platform.lakehouse_uri)
    instances = (logged_instances if config.ranking else gold_instances)(lakehouse, config, first, last)
    token = platform.serving.api_token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with TestClient(service(platform, config, online=False), headers=headers) as http:
        deadline = time.monotonic() + 60
        while http.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, http.get("/ready").text
            time.sleep(0.1)
        send(http, instances, batch_size)
    return len(instances)


def logged_instances(
    lakehouse: Lakehouse, config: ModelConfig, first: date, last: date
) -> list[dict[str, Any]]:
    """What a search service is asked on each target day in [first, last]: to rank the
    results its logs (silver) show for that day, with the features gold computed for
    them. A pair gold has no features for yet (never shown before) is left out, as the
    training sets leave it out."""
    from pipelines.features.datasets import feature_columns
    from pipelines.lakehouse.storage import PartitionKey
    from pipelines.monitor.actuals import slices_from_silver

    horizon, columns = timedelta(days=config.features.horizon_days), feature_columns(config)
    shown = slices_from_silver(lakehouse, config, [], first, last)
    instances = []
    for day, pairs in shown.groupby("target_date", sort=True):
        gold = lakehouse.read_frame(PartitionKey("gold", config.source.name, day - horizon))
        rows = pairs[["entity_id"]].merge(gold, on="entity_id").sort_values("entity_id")
        for row in rows[[*config.entity_keys, *columns]].to_dict("records"):
            features = {c: None if pd.isna(row[c]) else row[c] for c in columns}
            instances.append(
                {k: row[k] for k in config.entity_keys}
                | {config.timestamp_column: day.isoformat(), "features": features}
            )
    return instances


@pytest.fixture
def stack_env(
    conveyor_home: Path, prepared_lakehouse: Path, new_database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The compose profile's variables, each address a fresh database; Redis left to the test."""
    shutil.copytree(prepared_lakehouse, conveyor_home / "lakehouse")
    monkeypatch.setenv("CONVEYOR_ENV", "compose")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", new_database())
    monkeypatch.setenv("CONVEYOR_FEAST_REGISTRY_URL", new_database())
    monkeypatch.setenv("CONVEYOR_PREDICTION_LOG_URL", new_database())
    monkeypatch.setenv("CONVEYOR_FEAST_PROJECT", f"conveyor_test_{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("CONVEYOR_SERVING_TOKEN", TOKEN)
