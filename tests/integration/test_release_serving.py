"""The service while a candidate is released, under continuous traffic: a 20% canary
answers the same entities every time and about 20% of them, shadow answers with the
champion only while logging both, a candidate that fails to load leaves every answer to
the champion, and no request fails through any alias move.

The registry is real (MLflow on SQLite); the versions are stand-in models whose answers
say which version gave them, so routing is visible in every answer."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

from pipelines.release.registry import end_candidate, move_candidate, move_champion, register_version
from pipelines.serving.app import create_app
from pipelines.serving.champion import ChampionFollower, LoadedModel
from pipelines.serving.log import PredictionLog
from pipelines.training.tracking import mlflow_client

MODEL = "freight_volume"
ROUTES = [(f"NOR-{i:02d}", f"SOU-{j:02d}") for i in range(10) for j in range(10)]
FEATURES = {"volume_lag_14d": 40.0, "volume_lag_21d": 41.0, "volume_lag_28d": 39.0, "volume_mean_7d": 40.0,
            "volume_mean_28d": 40.0, "day_of_year": 122, "is_holiday": 0, "region": "north",
            "day_of_week": "Wed"}  # fmt: skip


def instances(routes):
    return [{"origin": o, "destination": d, "date": "2024-05-01", "features": {**FEATURES, "origin": o,
             "destination": d}} for o, d in routes]  # fmt: skip


def stand_in(name: str, version: str) -> LoadedModel:
    if version == "3":
        raise OSError("model.pth: truncated file")  # a candidate that cannot load
    return LoadedModel(name, version, lambda rows: np.full(len(rows), 1000.0 * int(version)))


class Traffic(threading.Thread):
    """Sends every route in batches of 10, over and over; keeps each route's answering
    versions since ``mark()``, and every failure."""

    def __init__(self, http: TestClient) -> None:
        super().__init__(daemon=True)
        self.http = http
        self.failures: list[str] = []
        self.answers: dict[str, list[str]] = {}
        self.champions: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        while not self.stop.is_set():
            for start in range(0, len(ROUTES), 10):
                response = self.http.post(
                    "/predict", json={"instances": instances(ROUTES[start : start + 10])}
                )
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code} {response.text}")
                    continue
                body = response.json()
                with self.lock:
                    self.champions.append(body["version"])
                    for p in body["predictions"]:
                        assert p["prediction"] == 1000.0 * int(p["version"]), (
                            "the answer is the named version's"
                        )
                        self.answers.setdefault(p["entity_id"], []).append(p["version"])

    def mark(self) -> None:
        with self.lock:
            self.answers, self.champions = {}, []

    def settle(self, condition, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.3)
            with self.lock:
                if condition(self):
                    return
        raise AssertionError(f"the service never {what}; failures: {self.failures[-3:]}")


def rounds(traffic: Traffic, n: int) -> None:
    """Wait until every route was answered at least ``n`` times since the last mark."""
    traffic.settle(lambda t: len(t.answers) == len(ROUTES) and min(map(len, t.answers.values())) >= n,
                   f"answered every route {n} times")  # fmt: skip


def test_canary_shadow_and_a_broken_candidate_under_traffic_fail_no_request(
    platform, freight_config, tmp_path
):
    client = mlflow_client(platform)
    for version in ("1", "2", "3"):
        source = tmp_path / f"v{version}"
        source.mkdir()
        run_id = client.create_run(client.create_experiment(f"stand-in-{version}")).info.run_id
        register_version(client, platform, MODEL, str(source), run_id, {})
    move_champion(client, platform, MODEL, "1", expected_champion=None)
    follower = ChampionFollower(client, MODEL, poll_seconds=0.2, loader=stand_in)
    with TestClient(create_app(platform, freight_config, follower, online=None)) as http:
        deadline = time.monotonic() + 30
        while http.get("/ready").status_code != 200:  # traffic starts once the champion is in
            assert time.monotonic() < deadline, http.get("/ready").text
            time.sleep(0.1)
        traffic = Traffic(http)
        traffic.start()
        rounds(traffic, 1)

        move_candidate(client, platform, MODEL, "2", expected_champion="1", strategy="canary", share=0.2)
        traffic.settle(lambda t: any("2" in v for v in t.answers.values()), "sent traffic to the canary")
        traffic.mark()
        rounds(traffic, 3)
        with traffic.lock:
            per_route = {route: set(versions) for route, versions in traffic.answers.items()}
        assert all(len(versions) == 1 for versions in per_route.values()), "an entity meets one version"
        canary = {route for route, versions in per_route.items() if versions == {"2"}}
        assert 0.1 <= len(canary) / len(ROUTES) <= 0.3, f"{len(canary)} of {len(ROUTES)} routes on the canary"
        assert set(traffic.champions) == {"1"}, "the champion stays the champion"
        assert http.get("/ready").json()["candidate"] == {"version": "2", "strategy": "canary", "share": 0.2}

        end_candidate(client, platform, MODEL, "2", decision="rolled back", reason="test")
        move_candidate(client, platform, MODEL, "2", expected_champion="1", strategy="shadow", share=1.0)
        traffic.settle(lambda t: http.get("/ready").json().get("candidate", {}).get("strategy") == "shadow",
                       "took the shadow release")  # fmt: skip
        traffic.mark()
        rounds(traffic, 2)
        assert {v for versions in traffic.answers.values() for v in versions} == {"1"}, "shadow never answers"

        end_candidate(client, platform, MODEL, "2", decision="rolled back", reason="test")
        move_candidate(client, platform, MODEL, "3", expected_champion="1", strategy="canary", share=0.5)
        traffic.settle(
            lambda t: "candidate_error" in http.get("/ready").json(), "reported the broken candidate"
        )
        traffic.mark()
        rounds(traffic, 2)
        assert {v for versions in traffic.answers.values() for v in versions} == {"1"}
        assert (
            "version 3 failed to load: model.pth: truncated file"
            in http.get("/ready").json()["candidate_error"]
        )

        end_candidate(client, platform, MODEL, "3", decision="rolled back", reason="test")
        move_candidate(client, platform, MODEL, "2", expected_champion="1", strategy="canary", share=0.2)
        move_champion(client, platform, MODEL, "2", expected_champion="1", action="canary passed")
        traffic.settle(lambda t: t.champions and t.champions[-1] == "2", "followed the promotion")
        traffic.mark()
        rounds(traffic, 1)
        assert {v for versions in traffic.answers.values() for v in versions} == {"2"}
        traffic.stop.set()
        traffic.join()
        assert traffic.failures == []
        metrics = http.get("/metrics").text
    log = PredictionLog(platform.serving.prediction_log_url)
    served = log.served(MODEL, date(2024, 5, 1), date(2024, 5, 1), answers_only=False)
    kinds = set(zip(served["model_version"], served["alias"], served["variant"], strict=True))
    assert {("1", "champion", "served"), ("2", "candidate", "served"), ("1", "champion", "shadow"),
            ("2", "candidate", "shadow")} <= kinds  # fmt: skip
    assert log.count(MODEL) == int(traffic_rows(metrics)), "every answer was logged once"
    assert Path(platform.home, "registry", f"{MODEL}.versions.json").exists()


def traffic_rows(metrics: str) -> float:
    return next(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("conveyor_predicted_rows_total")
    )
