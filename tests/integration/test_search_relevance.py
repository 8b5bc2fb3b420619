"""The second model, search_relevance, runs on the same platform from its config alone:
its data through bronze, silver and gold, then its train DAG (the same DAG factory as
freight's) end to end on the CPU to a champion that ranks the test set's result lists."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import mlflow
import pytest

from pipelines.airflow_local import airflow_environment, run_dag
from pipelines.config import load_model_config, load_platform_config
from pipelines.datasets import feature_columns, read_dataset
from pipelines.evaluate import PREDICTION, evaluate_predictions
from pipelines.registry import CHAMPION, alias_version, lineage, mlflow_client
from pipelines.storage import Lakehouse

SEARCH_DAYS, AS_OF = 36, date(2024, 2, 5)


@pytest.fixture(scope="session")
def search_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five weeks of search logs through gold, and the base weights, built once."""
    from pipelines.backfill import process_landed_days
    from pipelines.generate import generate_batches

    home = tmp_path_factory.mktemp("search")
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
    return home


def test_the_search_train_dag_makes_a_champion_from_the_config_alone(search_home, conveyor_home, tmp_path):
    shutil.copytree(search_home, conveyor_home)
    env = airflow_environment(conveyor_home, tmp_path / "airflow")
    outcome = run_dag(env, "search_relevance__train", AS_OF.isoformat(), {"reason": "manual"})
    assert outcome["state"] == "success", outcome
    assert outcome["tasks"]["promote_model"] == "success" and outcome["tasks"]["keep_champion"] == "skipped"

    config = load_model_config("search_relevance")
    client = mlflow_client(load_platform_config())
    assert alias_version(client, "search_relevance", CHAMPION) == "1"
    record = lineage(client, "search_relevance@champion")
    metrics = record["metrics"]
    assert metrics["ndcg_at_10"] > config.gates.business_threshold and 0 < metrics["mrr"] <= 1
    sliced = {name.split(".")[1] for name in record["slice_metrics"] if name.endswith(".ndcg_at_10")}
    assert sliced == {"topic", "language"}
    fields = record["lineage"]
    assert fields["dag_run_id"] == outcome["run_id"] and fields["trigger_reason"] == "manual"
    assert fields["feature_service"] == "search_relevance_v1"

    # The registered version scores query and document text with the click features, and
    # ranks the test set's result lists the way its recorded metrics say.
    test = read_dataset(fields["test_dataset_uri"])
    model = mlflow.pyfunc.load_model("models:/search_relevance@champion")
    scored = test.assign(**{PREDICTION: model.predict(test[feature_columns(config)])})
    assert evaluate_predictions(scored, config).overall["ndcg_at_10"] == pytest.approx(metrics["ndcg_at_10"])
    assert {"query", "document", "ctr_28d"} <= set(feature_columns(config))
