"""The production stack for real: `make secrets` and the images from this checkout, then
docker-compose.yml up on the machine's engine (stand-in base images where no registry
answers); the freight train DAG triggered through Airflow's REST API with a login, every
step a container of the task image started through the socket proxy, a champion whose
lineage names this checkout's commit, and the serving container answering it with the
token and refusing without."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
import yaml

from pipelines.config.load import load_model_config
from pipelines.lakehouse.storage import Lakehouse
from pipelines.samples.traffic import gold_instances
from tests.stack.conftest import REPO, built, docker

AIRFLOW, MLFLOW, SERVING = "http://127.0.0.1:8080", "http://127.0.0.1:5000", "http://127.0.0.1:8081"
# The stack's images that are not ours: pulled, or stand-ins built where no registry answers.
BASES = sorted(
    {s["image"] for s in yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"].values()}
    - {"conveyor/task:latest", "conveyor/airflow:latest", "conveyor/serving:latest"}
)


def compose(env_file: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    command = [
        "docker-compose",
        "--env-file",
        str(env_file),
        "-p",
        "conveyor",
        "-f",
        "docker-compose.yml",
        *args,
    ]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)


def wait_until(what: str, ready, timeout: float, env_file: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(3)
    logs = compose(env_file, "logs", "--tail", "30").stdout
    pytest.fail(f"{what} not ready within {timeout} s:\n{compose(env_file, 'ps').stdout}\n{logs[-6000:]}")


@pytest.fixture(scope="module")
def stack(task_image, airflow_image, tmp_path_factory):
    """The stack up, healthy, with the prepared lakehouse on its state volume."""
    built(tmp_path_factory, "serving")
    bases = subprocess.run([REPO / "scripts/offline_images.sh", *BASES], capture_output=True, text=True)
    assert bases.returncode == 0, bases.stdout[-3000:] + bases.stderr[-3000:]
    env_file = tmp_path_factory.mktemp("stack") / ".env"
    subprocess.run([sys.executable, REPO / "scripts/make_secrets.py", "--env-file", env_file], check=True)
    secrets = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    compose(env_file, "down", "--volumes", "--remove-orphans")
    up = compose(env_file, "up", "-d")
    assert up.returncode == 0, up.stderr[-4000:]
    try:
        wait_until(
            "Airflow", lambda: httpx.get(f"{AIRFLOW}/api/v2/monitor/health").status_code == 200, 300, env_file
        )
        wait_until("MLflow", lambda: httpx.get(f"{MLFLOW}/health").status_code == 200, 300, env_file)
        yield {"env_file": env_file, "secrets": secrets}
    finally:
        compose(env_file, "down", "--volumes", "--remove-orphans")


@pytest.fixture(scope="module")
def airflow_api(stack):
    token = httpx.post(
        f"{AIRFLOW}/auth/token",
        json={"username": "admin", "password": stack["secrets"]["AIRFLOW_ADMIN_PASSWORD"]},
    )
    assert token.status_code in (200, 201), token.text
    return httpx.Client(base_url=AIRFLOW, headers={"Authorization": f"Bearer {token.json()['access_token']}"})


def finished_run(api: httpx.Client, dag: str, run_id: str, env_file: Path) -> dict:
    def done() -> bool:
        return api.get(f"/api/v2/dags/{dag}/dagRuns/{run_id}").json()["state"] in ("success", "failed")

    wait_until(f"{dag} run {run_id}", done, 1200, env_file)
    tasks = api.get(f"/api/v2/dags/{dag}/dagRuns/{run_id}/taskInstances").json()["task_instances"]
    gate = api.get(f"/api/v2/dags/{dag}/dagRuns/{run_id}/taskInstances/gate_model/xcomEntries/return_value")
    return {
        "state": api.get(f"/api/v2/dags/{dag}/dagRuns/{run_id}").json()["state"],
        "tasks": {t["task_id"]: t["state"] for t in tasks},
        "gate": gate.json().get("value") if gate.status_code == 200 else gate.text,
    }


def test_the_nightly_schedule_and_a_rest_trigger_run_every_step_in_a_container(
    stack, airflow_api, task_image, prepared_lakehouse, request
):
    docker(
        "run",
        "--rm",
        "-v",
        "conveyor-state:/var/lib/conveyor",
        "-v",
        f"{prepared_lakehouse}:/prepared:ro",
        "--entrypoint",
        "cp",
        task_image,
        "-r",
        "/prepared",
        "/var/lib/conveyor/lakehouse",
    )
    dag, env_file = "freight_volume__train", stack["env_file"]
    assert httpx.get(f"{AIRFLOW}/api/v2/dags").status_code == 401, "the API needs a login"
    wait_until(
        "the DAG processor", lambda: airflow_api.get(f"/api/v2/dags/{dag}").status_code == 200, 180, env_file
    )
    # Container starts, streamed as they happen (the engine keeps only its last 256 events,
    # and the stack's health checks alone fill that within minutes).
    watcher = subprocess.Popen(
        [
            "docker",
            "events",
            "--filter",
            "type=container",
            "--filter",
            "event=start",
            "--filter",
            f"image={task_image}",
            "--format",
            "{{.Actor.Attributes.name}}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    request.addfinalizer(watcher.kill)
    time.sleep(2)

    # Unpaused, the scheduler starts the model's nightly run by itself (the last cron tick).
    assert airflow_api.patch(f"/api/v2/dags/{dag}", json={"is_paused": False}).status_code == 200

    def scheduled_runs() -> list[dict]:
        return airflow_api.get(f"/api/v2/dags/{dag}/dagRuns", params={"run_type": "scheduled"}).json()[
            "dag_runs"
        ]

    wait_until("the nightly run", lambda: bool(scheduled_runs()), 120, env_file)
    nightly = finished_run(airflow_api, dag, scheduled_runs()[0]["dag_run_id"], env_file)
    steps = (
        "apply_features",
        "build_datasets",
        "train_model",
        "evaluate_model",
        "gate_model",
        "register_model",
        "promote_model",
    )
    assert nightly["state"] == "success", json.dumps(nightly)
    assert all(nightly["tasks"][step] == "success" for step in steps), json.dumps(nightly)

    # Every step ran in a container of the task image, started by the engine (its events, not logs).
    watcher.terminate()
    started_containers = watcher.communicate(timeout=30)[0].split()
    assert len(started_containers) >= len(steps), started_containers

    # The champion names the commit its image was built from, this checkout's, and why it ran.
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    mlflow_auth = ("admin", stack["secrets"]["MLFLOW_ADMIN_PASSWORD"])

    def version_tags(alias: str) -> dict[str, str]:
        found = httpx.get(
            f"{MLFLOW}/api/2.0/mlflow/registered-models/alias",
            auth=mlflow_auth,
            params={"name": "freight_volume", "alias": alias},
        )
        assert found.status_code == 200, found.text
        version = found.json()["model_version"]
        return {"version": version["version"], **{t["key"]: t["value"] for t in version["tags"]}}

    champion = version_tags("champion")
    assert champion["conveyor.git_commit"] == head and champion["conveyor.trigger_reason"] == "schedule"

    # A retrain asked for through the REST API, with a login: it runs, registers a challenger
    # with its reason, and the gate keeps the champion (the same data cannot beat it).
    asked = airflow_api.post(
        f"/api/v2/dags/{dag}/dagRuns",
        json={"logical_date": "2024-04-30T00:00:00Z", "conf": {"reason": "stack test"}},
    )
    assert asked.status_code == 200, asked.text
    retrain = finished_run(airflow_api, dag, asked.json()["dag_run_id"], env_file)
    assert retrain["state"] == "success" and retrain["tasks"]["keep_champion"] == "success", json.dumps(
        retrain
    )
    challenger = version_tags("challenger")
    assert (
        challenger["conveyor.trigger_reason"] == "stack test" and challenger["version"] != champion["version"]
    )
    assert version_tags("champion")["version"] == champion["version"]

    # The serving container follows the champion; predictions need the token.
    wait_until("serving", lambda: httpx.get(f"{SERVING}/ready").status_code == 200, 180, env_file)
    instances = gold_instances(
        Lakehouse(str(prepared_lakehouse)),
        load_model_config("freight_volume"),
        date(2024, 4, 20),
        date(2024, 4, 20),
    )[:3]
    assert httpx.post(f"{SERVING}/predict", json={"instances": instances}).status_code == 401
    token = {"Authorization": f"Bearer {stack['secrets']['CONVEYOR_SERVING_TOKEN']}"}
    answered = httpx.post(f"{SERVING}/predict", json={"instances": instances}, headers=token)
    assert answered.status_code == 200, answered.text
    assert answered.json()["version"] == champion["version"]

    # The Models view (an Airflow plugin) loaded in the API server and shows that champion.
    view = airflow_api.get("/conveyor/api/models/freight_volume")
    assert view.status_code == 200, view.text
    assert view.json()["champion"]["version"] == champion["version"]
