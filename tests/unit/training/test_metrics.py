from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score

from pipelines.config.load import load_model_config
from pipelines.errors import MissingInputError
from pipelines.release.gate import decide
from pipelines.training.metrics import check_slices, evaluate_predictions, per_list, regression_metrics, units


def test_metrics_have_their_textbook_values():
    metrics = regression_metrics(np.array([10.0, 20.0, 0.0]), np.array([12.0, 16.0, 3.0]))
    assert metrics["rmse"] == pytest.approx(np.sqrt((4 + 16 + 9) / 3))
    assert metrics["mae"] == pytest.approx(3.0)
    # The zero actual has no percentage error; MAPE is over the other two rows.
    assert metrics["mape"] == pytest.approx((0.2 + 0.2) / 2 * 100)


def test_metrics_per_slice(freight_config):
    scored = pd.DataFrame(
        {
            "region": ["north", "north", "south"],
            "volume": [10.0, 20.0, 30.0],
            "prediction": [10.0, 22.0, 27.0],
        }
    )
    evaluation = evaluate_predictions(scored, freight_config)
    assert evaluation.slices["region"]["north"]["mae"] == pytest.approx(1.0)
    assert evaluation.slices["region"]["south"]["rmse"] == pytest.approx(3.0)
    assert evaluation.flat()["slice.region.south.mae"] == pytest.approx(3.0)


def test_a_test_set_sharing_no_slice_value_with_training_is_refused(freight_config):
    train = pd.DataFrame({"region": ["north", "south"]})
    with pytest.raises(MissingInputError, match="shares no 'region' value with the training set"):
        check_slices(train, pd.DataFrame({"region": ["far_east"]}), freight_config)
    check_slices(train, pd.DataFrame({"region": ["far_east", "north"]}), freight_config)


def test_an_empty_test_set_is_refused(freight_config):
    with pytest.raises(MissingInputError, match="the test set is empty"):
        evaluate_predictions(pd.DataFrame({"region": [], "volume": [], "prediction": []}), freight_config)


# Ranking metrics per result list, checked against scikit-learn's NDCG and by hand.
RNG = np.random.default_rng(3)


def result_lists(lists: int = 60, size: int = 12, noise: float = 1.0) -> pd.DataFrame:
    """``lists`` queries on one day, ``size`` graded documents each, a score that follows
    the grade with ``noise``; queries alternate between two topics and languages."""
    grades = RNG.integers(0, 4, (lists, size))
    return pd.DataFrame(
        {
            "query_id": np.repeat([f"q-{i:04d}" for i in range(lists)], size),
            "event_timestamp": pd.Timestamp("2024-03-01", tz="UTC"),
            "relevance": grades.ravel(),
            "prediction": grades.ravel() + RNG.normal(0, noise, lists * size),
            "topic": np.repeat(["rail", "sea"] * (lists // 2), size),
            "language": np.repeat(["en", "de"] * (lists // 2), size),
        }
    )


@pytest.fixture
def search_config():
    return load_model_config("search_relevance")


def test_ndcg_matches_scikit_learn_with_graded_gains():
    frame = result_lists()
    ours = per_list(frame, list_keys=["query_id"], grade="relevance", score="prediction", relevant_from=2)
    grades = frame["relevance"].to_numpy().reshape(60, 12)
    scores = frame["prediction"].to_numpy().reshape(60, 12)
    theirs = [ndcg_score(2.0 ** grades[i : i + 1] - 1, scores[i : i + 1], k=10) for i in range(60)]
    assert ours.set_index("query_id")["ndcg_at_10"].to_numpy() == pytest.approx(theirs)


def test_reciprocal_rank_is_that_of_the_first_relevant_result_and_empty_lists_are_left_out():
    frame = pd.DataFrame(
        {
            "query_id": ["a"] * 3 + ["b"] * 2,
            "relevance": [0, 1, 3, 0, 1],
            "prediction": [0.9, 0.8, 0.1, 0.5, 0.4],
        }
    )
    lists = per_list(frame, list_keys=["query_id"], grade="relevance", score="prediction", relevant_from=2)
    by_query = lists.set_index("query_id")
    assert by_query.loc["a", "reciprocal_rank"] == pytest.approx(1 / 3)
    assert np.isnan(by_query.loc["b", "reciprocal_rank"]), "nothing graded 2 or more: no rank"
    assert by_query.loc["b", "ndcg_at_10"] < 1 and list(by_query["documents"]) == [3, 2]


def test_evaluation_reports_ranking_metrics_overall_and_per_query_slice(search_config):
    evaluation = evaluate_predictions(result_lists(), search_config)
    assert set(evaluation.overall) == {"ndcg_at_10", "mrr", "lists", "rows"}
    assert evaluation.overall["lists"] == 60 and evaluation.overall["rows"] == 720
    assert set(evaluation.slices["topic"]) == {"rail", "sea"}
    assert evaluation.slices["language"]["en"]["lists"] == 30
    assert "slice.topic.rail.ndcg_at_10" in evaluation.flat()


def test_a_better_ranker_passes_the_gate_a_worse_one_does_not(search_config):
    champion = result_lists(noise=1.5)
    better = champion.assign(prediction=champion["relevance"] + RNG.normal(0, 0.4, len(champion)))
    worse = champion.assign(prediction=champion["relevance"] + RNG.normal(0, 4.0, len(champion)))
    first = decide(search_config, better, champion_version=None, champion_prediction=None)
    assert first.promote and "is above the business threshold" in first.checks[0].detail
    random = decide(search_config, champion.assign(prediction=RNG.random(len(champion))),
                    champion_version=None, champion_prediction=None)  # fmt: skip
    assert not random.promote, random.checks

    against = champion["prediction"].to_numpy()
    promoted = decide(search_config, better, champion_version="1", champion_prediction=against)
    refused = decide(search_config, worse, champion_version="1", champion_prediction=against)
    assert promoted.promote and promoted.numbers["improvement_low"] > 0, promoted.checks
    assert not refused.promote and refused.numbers["improvement"] < 0
    assert {c.name for c in refused.checks if not c.passed} >= {"beats_champion", "slice_topic_rail"}


def test_gate_units_are_result_lists_for_ranking_metrics(search_config):
    frame = result_lists()
    values, statistic = units(frame, search_config, "mrr")
    lists_with_a_relevant_result = frame[frame["relevance"] >= 2]["query_id"].nunique()
    assert len(values) == lists_with_a_relevant_result
    assert statistic(values) == pytest.approx(evaluate_predictions(frame, search_config).overall["mrr"])
