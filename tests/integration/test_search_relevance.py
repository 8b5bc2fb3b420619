"""The second model, search_relevance, runs on the same platform from its config alone:
its data through bronze, silver and gold, then its train DAG (the same DAG factory as
freight's) end to end on the CPU to a champion that ranks the test set's result lists."""

from __future__ import annotations

import shutil

import mlflow
import pytest

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.features.datasets import feature_columns, read_dataset
from pipelines.local.airflow import airflow_environment, run_dag
from pipelines.release.registry import CHAMPION, alias_version, read_lineage
from pipelines.training.metrics import PREDICTION, evaluate_predictions
from pipelines.training.tracking import mlflow_client
from tests.integration.conftest import SEARCH_AS_OF


def test_the_search_train_dag_makes_a_champion_from_the_config_alone(search_home, conveyor_home, tmp_path):
    shutil.copytree(search_home, conveyor_home)
    env = airflow_environment(conveyor_home, tmp_path / "airflow")
    outcome = run_dag(env, "search_relevance__train", SEARCH_AS_OF.isoformat(), {"reason": "manual"})
    assert outcome["state"] == "success", outcome
    assert outcome["tasks"]["promote_model"] == "success" and outcome["tasks"]["keep_champion"] == "skipped"

    config = load_model_config("search_relevance")
    client = mlflow_client(load_platform_config())
    assert alias_version(client, "search_relevance", CHAMPION) == "1"
    record = read_lineage(client, "search_relevance@champion")
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
