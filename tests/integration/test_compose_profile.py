"""The production profile on the machine's real PostgreSQL and a real Redis: MLflow's
backend, Feast's SQL registry and the prediction log each in a database of their own,
Feast's online store in a Redis server of the test's own (so it can be restarted), under
a project of its own. A champion is trained, served from Redis features through a Redis
restart, and measured live. (The DAGs on Airflow's metadata in PostgreSQL run in the
compose stack's test, tests/stack/.)"""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.cycle import run_training_cycle
from pipelines.monitor.actuals import ingest_actuals
from pipelines.monitor.performance import check_performance
from pipelines.release.registry import CHAMPION, alias_version
from pipelines.samples.traffic import gold_instances
from pipelines.serving.app import service
from pipelines.serving.log import PredictionLog
from pipelines.training.tracking import mlflow_client
from tests.integration.conftest import TOKEN
from tests.support import free_port

AS_OF = date(2024, 4, 30)
AUTHORIZED = {"Authorization": f"Bearer {TOKEN}"}


class PrivateRedis:
    """A Redis server of this test's own, so it can be stopped and started again; its
    append-only file keeps the data across restarts, as the stack's Redis does."""

    def __init__(self, folder) -> None:
        self.port, self.folder, self.process = free_port(), folder, None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        import redis

        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                   "--appendonly", "yes", "--appendfsync", "always", "--save", ""]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed on this machine")
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def test_train_serve_from_redis_through_a_restart_and_measure_live_on_postgres(
    stack_env, private_redis, monkeypatch
):
    import redis

    monkeypatch.setenv("CONVEYOR_REDIS", private_redis.address)
    platform, config = load_platform_config(), load_model_config("freight_volume")
    assert platform.mlflow_tracking_uri.startswith("postgresql")
    lakehouse, client = Lakehouse(platform.lakehouse_uri), mlflow_client(platform)
    cycle = run_training_cycle(platform, config, lakehouse, client, as_of=AS_OF, trigger_reason="manual")
    assert cycle.promotion is not None and alias_version(client, config.name, CHAMPION) == cycle.version
    assert redis.Redis.from_url(f"redis://{private_redis.address}").dbsize() > 0

    last_gold = lakehouse.logical_dates("gold", config.source.name)[-1]
    target_day = last_gold + timedelta(days=config.features.horizon_days)
    instances = gold_instances(lakehouse, config, date(2024, 4, 20), target_day)
    by_key = [
        {k: i[k] for k in ("origin", "destination", "date")}
        for i in instances
        if i["date"] == str(target_day)
    ]
    with TestClient(service(platform, config)) as http:
        deadline = time.monotonic() + 60
        while http.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, http.get("/ready").text
            time.sleep(0.1)
        anonymous = http.post("/predict", json={"instances": by_key})
        forged = http.post("/predict", json={"instances": by_key}, headers={"Authorization": "Bearer guess"})
        assert anonymous.status_code == forged.status_code == 401, anonymous.text
        assert "Authorization: Bearer" in anonymous.json()["detail"]
        assert http.get("/health").status_code == http.get("/metrics").status_code == 200  # open to probes
        online = http.post("/predict", json={"instances": by_key}, headers=AUTHORIZED)
        inline = http.post("/predict", json={"instances": instances}, headers=AUTHORIZED)

        # Redis goes away: requests by key get a clear 503, inline ones are still answered;
        # Redis comes back with its data, and so do the features.
        private_redis.stop()
        down = http.post("/predict", json={"instances": by_key}, headers=AUTHORIZED)
        assert down.status_code == 503 and "online feature store is unreachable" in down.json()["detail"]
        assert down.headers["retry-after"] == "5"
        assert http.post("/predict", json={"instances": instances[:3]}, headers=AUTHORIZED).status_code == 200
        private_redis.start()
        back = http.post("/predict", json={"instances": by_key}, headers=AUTHORIZED)
        assert back.status_code == 200 and back.json()["predictions"] == online.json()["predictions"]
    assert online.status_code == 200 and inline.status_code == 200, (online.text, inline.text)
    from_redis = {p["entity_id"]: p["prediction"] for p in online.json()["predictions"]}
    assert {p["features_from"] for p in online.json()["predictions"]} == {"online"}
    same_day_inline = {
        p["entity_id"]: p["prediction"] for p in inline.json()["predictions"] if p["date"] == str(target_day)
    }
    assert from_redis == pytest.approx(same_day_inline, rel=1e-6), "Redis serves exactly the gold features"

    prediction_log = PredictionLog(platform.serving.prediction_log_url)
    assert prediction_log.engine.dialect.name == "postgresql"
    assert prediction_log.count(config.name) == 2 * len(by_key) + len(instances) + 3
    assert ingest_actuals(prediction_log, lakehouse, config, last_gold).rows > 0
    live = check_performance(platform, config, client, date(2024, 4, 26))
    assert live.rows > 0 and live.value is not None and not live.breached, live.to_dict()
