"""The service as `conveyor serve` runs it, under traffic: a promotion and a rollback are
followed with zero failed requests, SIGTERM loses no acknowledged prediction, and the
actuals that arrive later give the champion's live error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import date

import httpx

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse
from pipelines.monitor.actuals import ingest_actuals
from pipelines.monitor.performance import check_performance
from pipelines.release.registry import CHAMPION, alias_version, move_champion
from pipelines.release.rollback import rollback_champion
from pipelines.samples.traffic import gold_instances
from pipelines.serving.log import PredictionLog
from pipelines.training.tracking import mlflow_client
from tests.support import free_port, wait_for


class Traffic(threading.Thread):
    """Sends small batches as fast as it can; records each answer's version or failure."""

    def __init__(self, url: str, instances: list[dict]) -> None:
        super().__init__(daemon=True)
        self.url, self.instances = url, instances
        self.versions: list[str] = []
        self.failures: list[str] = []
        self.acknowledged = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            position = 0
            while not self.stop.is_set():
                batch = self.instances[position % len(self.instances) :][:4]
                position += 4
                try:
                    response = http.post("/predict", json={"instances": batch})
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))
                    continue
                if response.status_code != 200:
                    self.failures.append(f"{response.status_code} {response.text}")
                    continue
                self.versions.append(response.json()["version"])
                self.acknowledged += len(batch)

    def wait_for_version(self, version: str, timeout: float = 60) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.versions and self.versions[-1] == version:
                return
            time.sleep(0.2)
        raise AssertionError(
            f"the service did not switch to version {version}; answered {self.versions[-5:]}"
        )


def test_promotion_and_rollback_under_traffic_fail_no_request_and_sigterm_loses_no_prediction(
    served_home, tmp_path
):
    platform, config = load_platform_config(), load_model_config("freight_volume")
    client = mlflow_client(platform)
    first = client.get_model_version("freight_volume", "1")
    port, log_path = free_port(), tmp_path / "serve.log"
    env = {**os.environ, "CONVEYOR_SERVING_POLL_SECONDS": "0.5"}
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "pipelines", "serve", "--model", "freight_volume", "--port", str(port)],
            env=env, stdout=log, stderr=log,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/ready", 120, log_path.read_text)
        instances = gold_instances(
            Lakehouse(platform.lakehouse_uri), config, date(2024, 4, 20), date(2024, 4, 26)
        )
        traffic = Traffic(url, instances)
        traffic.start()
        traffic.wait_for_version("1")

        # A second version (the same weights, registered again), promoted while traffic
        # flows, then rolled back.
        second = str(
            client.create_model_version(
                "freight_volume", first.source, first.run_id, dict(first.tags)
            ).version
        )
        move_champion(client, platform, "freight_volume", second, expected_champion="1")
        traffic.wait_for_version(second)
        rollback_champion(client, platform, "freight_volume", "1")
        traffic.wait_for_version("1")
        traffic.stop.set()
        traffic.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)

    assert traffic.failures == []
    switches = [v for i, v in enumerate(traffic.versions) if i == 0 or traffic.versions[i - 1] != v]
    assert switches == ["1", second, "1"], "each answer names the version that gave it"
    assert alias_version(client, "freight_volume", CHAMPION) == "1"
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert server.returncode in (0, -signal.SIGTERM), log_path.read_text()[-2000:]
    logged = PredictionLog(platform.serving.prediction_log_url)
    assert logged.count("freight_volume") == traffic.acknowledged > 0

    # The actuals of those days arrive; the champion's live error comes out of the log.
    lakehouse = Lakehouse(platform.lakehouse_uri)
    assert ingest_actuals(logged, lakehouse, config, date(2024, 4, 29)).rows > 0
    live = check_performance(platform, config, client, date(2024, 4, 26))
    assert live.champion_version == "1" and live.rows > 0
    assert 0 < live.value < config.triggers.performance.threshold and not live.breached, live.to_dict()
