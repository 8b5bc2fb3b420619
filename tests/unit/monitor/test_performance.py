"""Live performance of a ranking model from a hand-made prediction log: only the
champion's answers with an actual count, a pair asked about twice counts once (its last
answer), rows regroup into their result lists, and slices come from what silver recorded."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from pipelines.config.load import load_model_config
from pipelines.monitor.performance import join_slices, live_rows
from pipelines.serving.log import PredictionLog
from pipelines.training.metrics import evaluate_predictions

DAY = date(2024, 2, 10)
# (query, doc, served by version, score); d-01 is asked about twice, the last answer stands.
SERVED = [
    ("q-1", "d-01", "3", 0.2), ("q-1", "d-02", "3", 0.5), ("q-1", "d-03", "3", 0.1),
    ("q-2", "d-04", "3", 0.3), ("q-2", "d-05", "3", 0.7), ("q-2", "d-08", "3", 0.9),
    ("q-3", "d-06", "3", 0.9), ("q-3", "d-07", "3", 0.1),
    ("q-1", "d-02", "2", 9.9),  # the previous champion: not this one's answer
    ("q-1", "d-01", "3", 0.9),
]  # fmt: skip
# Graded relevance; q-2's d-08 has no actual yet.
ACTUALS = {"q-1>d-01": 3, "q-1>d-02": 0, "q-1>d-03": 2, "q-2>d-04": 1, "q-2>d-05": 2, "q-3>d-06": 0,
           "q-3>d-07": 2}  # fmt: skip
LANGUAGE = {"q-1": "en", "q-2": "de", "q-3": "en"}


@pytest.fixture
def served(tmp_path) -> pd.DataFrame:
    log = PredictionLog(f"sqlite:///{tmp_path}/predictions.db")
    log.append([
        {"request_id": f"r{i}", "logged_at": datetime(2024, 2, 9, 12, i, tzinfo=UTC),
         "model": "search_relevance", "model_version": version, "entity_id": f"{query}>{doc}",
         "target_date": DAY, "features": {"query": f"words of {query}", "ctr_28d": 0.1},
         "prediction": score}
        for i, (query, doc, version, score) in enumerate(SERVED)
    ])  # fmt: skip
    actuals = pd.DataFrame(
        {"entity_id": list(ACTUALS), "target_date": DAY, "actual": [float(a) for a in ACTUALS.values()]}
    )
    log.upsert_actuals("search_relevance", actuals, reported_on=date(2024, 2, 11))
    return log.served("search_relevance", DAY, DAY)


def test_served_rows_regroup_into_result_lists_and_score_like_the_test_set(served):
    config = load_model_config("search_relevance")
    scored = live_rows(served, config, version="3")
    assert len(scored) == 7 and set(scored["query_id"]) == {"q-1", "q-2", "q-3"}
    assert scored.set_index("entity_id").loc["q-1>d-01", "prediction"] == 0.9

    silver = pd.DataFrame({"entity_id": list(ACTUALS), "target_date": DAY, "topic": "travel"})
    silver["language"] = silver["entity_id"].str[:3].map(LANGUAGE)
    evaluation = evaluate_predictions(join_slices(scored, silver), config)

    # q-1 ranks grades 3, 0, 2; q-2 ranks 2, 1 (ideal); q-3 ranks 0, 2.
    ndcg = {"q-1": (7 + 3 / 2) / (7 + 3 / 1.5849625), "q-2": 1.0, "q-3": (3 / 1.5849625) / 3}
    assert evaluation.overall["ndcg_at_10"] == pytest.approx(sum(ndcg.values()) / 3, abs=1e-6)
    assert evaluation.overall["mrr"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert evaluation.overall["lists"] == 3 and evaluation.overall["rows"] == 7
    english = evaluation.slices["language"]["en"]
    assert english["ndcg_at_10"] == pytest.approx((ndcg["q-1"] + ndcg["q-3"]) / 2, abs=1e-6)
    assert evaluation.slices["language"]["de"]["mrr"] == 1.0
    assert evaluation.slices["topic"]["travel"]["lists"] == 3


def test_a_regression_model_keeps_its_rows_as_served(served):
    config = load_model_config("freight_volume")
    scored = live_rows(served, config, version="3")
    assert len(scored) == 8 and "query_id" not in scored and scored["volume"].notna().all()
