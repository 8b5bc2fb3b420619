"""Only the model that was judged is served: a version whose files changed after
registration is refused by the service, which keeps answering with the version it has,
says why in /ready and counts the refusal in /metrics."""

from __future__ import annotations

import time

import mlflow
from fastapi.testclient import TestClient

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.release.digest import DIGEST_TAG
from pipelines.release.registry import move_champion
from pipelines.serving.app import service
from pipelines.training.tracking import mlflow_client

MODEL = "freight_volume"


def copy_of_version_one(client, folder) -> str:
    """A new version whose files are a copy of version 1's, with version 1's recorded digest."""
    local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{MODEL}/1", dst_path=str(folder))
    recorded = client.get_model_version(MODEL, "1").tags[DIGEST_TAG]
    return str(client.create_model_version(MODEL, local, tags={DIGEST_TAG: recorded}).version)


def wait_until(http, condition, what: str):
    deadline = time.monotonic() + 60
    while not condition(http.get("/ready").json()):
        assert time.monotonic() < deadline, f"never {what}: {http.get('/ready').json()}"
        time.sleep(0.2)


def test_a_version_whose_files_changed_is_refused_and_the_champion_keeps_answering(
    served_home, tmp_path, monkeypatch
):
    monkeypatch.setenv("CONVEYOR_SERVING_POLL_SECONDS", "0.2")
    platform, config = load_platform_config(), load_model_config(MODEL)
    client = mlflow_client(platform)
    instance = {"origin": "x", "destination": "y", "date": "2024-05-01"}
    with TestClient(service(platform, config, online=False)) as http:
        wait_until(http, lambda ready: ready.get("version") == "1", "served version 1")

        faithful = copy_of_version_one(client, tmp_path / "faithful")
        move_champion(client, platform, MODEL, faithful, expected_champion="1")
        wait_until(http, lambda ready: ready.get("version") == faithful, "loaded an unchanged copy")

        altered = copy_of_version_one(client, tmp_path / "altered")
        pickled = next((tmp_path / "altered").rglob("*.pkl"))
        pickled.write_bytes(pickled.read_bytes() + b"\x00")  # changed after registration
        move_champion(client, platform, MODEL, altered, expected_champion=faithful)
        wait_until(http, lambda ready: "refused" in ready.get("detail", "") or "refused" in str(ready),
                   "reported the refusal")  # fmt: skip
        ready = http.get("/ready").json()
        assert ready["ready"] and ready["version"] == faithful, "the champion it had keeps answering"
        assert f"version {altered}'s files changed since it was registered" in ready["refused"]
        features = {c: 1.0 for c in config.features.numeric} | {c: "a" for c in config.features.categorical}
        features |= {"origin": "x", "destination": "y"}
        answer = http.post("/predict", json={"instances": [instance | {"features": features}]})
        assert answer.status_code == 200 and answer.json()["version"] == faithful
        metrics = http.get("/metrics").text
        assert f'conveyor_refused_versions_total{{alias="champion",version="{altered}"}} 1.0' in metrics
