"""The serving service on a real champion: online and inline features, answers that
match the registered model, clear 4xx for bad requests, metrics, and a prediction log
that holds every answered row."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse, PartitionKey
from pipelines.samples.traffic import gold_instances
from pipelines.serving.app import service
from pipelines.serving.log import PredictionLog


@pytest.fixture
def context(served_home):
    platform, config = load_platform_config(), load_model_config("freight_volume")
    return platform, config, Lakehouse(platform.lakehouse_uri)


@pytest.fixture
def client(context):
    platform, config, _ = context
    with TestClient(service(platform, config)) as http:
        for _ in range(200):
            if http.get("/ready").status_code == 200:
                break
            time.sleep(0.1)
        yield http


def latest_gold(lakehouse, config) -> tuple[pd.DataFrame, object]:
    """The newest gold partition: what the online store holds, and its target day."""
    as_of = lakehouse.logical_dates("gold", config.source.name)[-1]
    gold = lakehouse.read_frame(PartitionKey("gold", config.source.name, as_of))
    return gold, as_of + timedelta(days=config.features.horizon_days)


def test_online_and_inline_features_give_the_registered_models_answer_and_every_row_is_logged(
    context, client
):
    import mlflow

    platform, config, lakehouse = context
    gold, target_day = latest_gold(lakehouse, config)
    assert client.get("/ready").json() == {"ready": True, "model": "freight_volume", "version": "1"}

    routes = gold.head(5)
    by_key = [
        {"origin": o, "destination": d, "date": str(target_day)}
        for o, d in zip(routes.origin, routes.destination, strict=True)
    ]
    online = client.post("/predict", json={"instances": by_key})
    assert online.status_code == 200, online.text
    inline = client.post(
        "/predict", json={"instances": gold_instances(lakehouse, config, target_day, target_day)[:5]}
    )
    assert inline.status_code == 200, inline.text

    registered = mlflow.pyfunc.load_model("models:/freight_volume@champion")
    expected = registered.predict(routes[[*config.features.numeric, *config.features.categorical]])
    for answer in (online.json(), inline.json()):
        assert answer["version"] == "1"
        assert [p["prediction"] for p in answer["predictions"]] == pytest.approx(list(expected), rel=1e-5)
    assert {p["features_from"] for p in online.json()["predictions"]} == {"online"}

    metrics = client.get("/metrics").text
    assert 'conveyor_model_version{model="freight_volume"} 1.0' in metrics
    assert 'conveyor_requests_total{path="/predict",status="200"} 2.0' in metrics
    assert "conveyor_request_seconds_bucket" in metrics
    client.__exit__(None, None, None)  # shutdown writes what is still buffered
    assert PredictionLog(platform.serving.prediction_log_url).count("freight_volume") == 10


@pytest.mark.parametrize(
    ("instances", "status", "message"),
    [
        ([{"destination": "SOU-01", "date": "2024-05-06"}], 422, "instances.0.origin: Field required"),
        ([{"origin": "NOR-01", "destination": "SOU-01", "date": "next tuesday"}], 422, "instances.0.date"),
        (
            [{"origin": "XXX-99", "destination": "SOU-01", "date": "{target}"}],
            422,
            "no online features for XXX-99>SOU-01",
        ),
        (
            [{"origin": "{origin}", "destination": "{destination}", "date": "2024-01-02"}],
            422,
            "are for {target}",
        ),
        (
            [
                {
                    "origin": "{origin}",
                    "destination": "{destination}",
                    "date": "{target}",
                    "features": {"day_of_week": 1},
                }
            ],
            422,
            "instances.0.features.volume_lag_14d: Field required",
        ),
        (
            [{"origin": "{origin}", "destination": "{destination}", "date": "{target}"}] * 1001,
            422,
            "at most 1000",
        ),
        ([], 422, "at least 1"),
    ],
)
def test_bad_requests_get_a_4xx_that_names_the_problem(context, client, instances, status, message):
    _, config, lakehouse = context
    gold, target_day = latest_gold(lakehouse, config)
    fill = {"origin": gold.origin[0], "destination": gold.destination[0], "target": str(target_day)}
    text = json.dumps({"instances": instances})
    for placeholder, value in fill.items():
        text = text.replace(f"{{{placeholder}}}", value)
    body = json.loads(text)
    response = client.post("/predict", json=body)
    assert response.status_code == status, response.text
    assert message.format(**fill) in response.json()["detail"]
    assert client.get("/health").status_code == 200  # and the service carries on


def test_an_oversized_or_malformed_body_is_refused_before_it_is_parsed(client):
    json_body = {"content-type": "application/json"}
    huge = client.post("/predict", content=b"{" + b" " * 2_000_000 + b"}", headers=json_body)
    assert huge.status_code == 413 and "larger than 1048576 bytes" in huge.json()["detail"]
    streamed = client.post("/predict", content=iter([b"{" + b" " * 600_000] * 2), headers=json_body)
    assert streamed.status_code == 413, "a body without Content-Length is measured as it arrives"
    small = client.post("/predict", content=iter([b'{"instances": ', b"[]}"]), headers=json_body)
    assert small.status_code == 422 and "at least 1" in small.json()["detail"]
    broken = client.post("/predict", content=b'{"instances": [', headers=json_body)
    assert broken.status_code == 422 and "JSON" in broken.json()["detail"]
