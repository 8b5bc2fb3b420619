"""The search champion served: ``/rank`` orders a query's documents by relevance, with
click features from the online store for pairs it knows and text alone for new ones, and
scores exactly as ``/predict`` and the registered model do."""

from __future__ import annotations

import shutil
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse, PartitionKey
from pipelines.serving.app import service
from pipelines.serving.log import PredictionLog


@pytest.fixture
def search_service(search_champion_home, conveyor_home):
    shutil.copytree(search_champion_home, conveyor_home)
    platform, config = load_platform_config(), load_model_config("search_relevance")
    with TestClient(service(platform, config)) as http:
        deadline = time.monotonic() + 60
        while http.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, http.get("/ready").text
            time.sleep(0.1)
        yield http, platform, config


def shown_results(platform):
    """The day the online store holds features for (the day after the last gold day), and a
    query it knows with its gold rows for that day."""
    lakehouse = Lakehouse(platform.lakehouse_uri)
    last = lakehouse.logical_dates("gold", "search")[-1]
    gold = lakehouse.read_frame(PartitionKey("gold", "search", last))
    query_id = gold["query_id"].value_counts().index[0]
    return last + timedelta(days=1), gold[gold["query_id"] == query_id].reset_index(drop=True)


def test_rank_orders_a_querys_documents_with_online_features_and_cold_starts_new_ones(search_service):
    http, platform, config = search_service
    served_day, rows = shown_results(platform)
    documents = [{"doc_id": r.doc_id, "document": r.document} for r in rows.itertuples()]
    new_document = {"doc_id": "d-99999", "document": documents[0]["document"]}
    body = {"query_id": rows.loc[0, "query_id"], "query": rows.loc[0, "query"], "date": str(served_day),
            "documents": [*documents, new_document]}  # fmt: skip

    ranked = http.post("/rank", json=body)
    assert ranked.status_code == 200, ranked.text
    answer = ranked.json()
    assert answer["version"] == "1" and answer["query_id"] == body["query_id"]
    scores = [d["score"] for d in answer["ranking"]]
    assert scores == sorted(scores, reverse=True) and [d["rank"] for d in answer["ranking"]] == list(
        range(1, len(documents) + 2)
    )
    source = {d["doc_id"]: d["features_from"] for d in answer["ranking"]}
    assert source.pop("d-99999") == "cold_start" and set(source.values()) == {"online"}

    # The same pairs through /predict with the gold features inline: the same scores.
    features = [*config.features.numeric, *config.features.text]
    instances = [
        {"query_id": r["query_id"], "doc_id": r["doc_id"], "date": str(served_day),
         "features": {c: (r[c].item() if hasattr(r[c], "item") else r[c]) for c in features}}
        for r in rows.to_dict("records")
    ]  # fmt: skip
    predicted = http.post("/predict", json={"instances": instances}).json()["predictions"]
    by_pair = {p["entity_id"].split(">")[1]: p["prediction"] for p in predicted}
    assert {d["doc_id"]: d["score"] for d in answer["ranking"] if d["doc_id"] in by_pair} == pytest.approx(
        by_pair
    )


def test_rank_refuses_what_it_cannot_score(search_service):
    http, _, _ = search_service
    base = {"query_id": "q-0001", "query": "x", "date": "2024-02-06"}
    no_documents = http.post("/rank", json=base | {"documents": []})
    assert no_documents.status_code == 422 and "documents" in no_documents.json()["detail"]
    no_text = http.post("/rank", json=base | {"documents": [{"doc_id": "d-1"}]})
    assert no_text.status_code == 422 and "documents.0.document" in no_text.json()["detail"]


def test_every_ranked_pair_is_logged_with_its_text(search_service, conveyor_home):
    http, platform, _ = search_service
    served_day, rows = shown_results(platform)
    documents = [{"doc_id": r.doc_id, "document": r.document} for r in rows.itertuples()]
    body = {"query_id": rows.loc[0, "query_id"], "query": "typed differently", "date": str(served_day),
            "documents": documents}  # fmt: skip
    assert http.post("/rank", json=body).status_code == 200
    http.__exit__(None, None, None)  # shut down: the log is written
    served = PredictionLog(platform.serving.prediction_log_url).served(
        "search_relevance", served_day, served_day
    )
    assert len(served) == len(rows)
    assert set(served["query"]) == {"typed differently"}
