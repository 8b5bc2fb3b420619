"""The production stack for real, one life of it: `make secrets` and the images from this
checkout, then docker-compose.yml up on the machine's engine (stand-in base images where no
registry answers) with two Celery workers on the default queue and one on the gpu queue.

The nightly schedule fires by itself; every step is a container of the task image started
through the socket proxy; the champion's lineage names this checkout's commit; serving
answers with the token only; Prometheus scrapes it and the monitor's results, with
Alertmanager beside it; a new day is ingested and the monitor DAG judges what was served.
Then a retrain asked through Airflow's REST API with a login tunes first (its trials mapped
over the workers, one study in PostgreSQL) and meets faults, each with nothing lost: a
worker killed mid-task, the training container killed mid-training, PostgreSQL restarted
during the run. `make down && make up` keeps champion, registry, prediction log and
lakehouse. Last, an alert sent to Alertmanager starts a retrain through the
alert receiver."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest
import yaml

from pipelines.config.load import load_model_config
from pipelines.lakehouse.storage import Lakehouse
from pipelines.samples.traffic import gold_instances, send
from tests.stack.conftest import REPO, built, docker

AIRFLOW, MLFLOW, SERVING = "http://127.0.0.1:8080", "http://127.0.0.1:5000", "http://127.0.0.1:8081"
PROMETHEUS, ALERTMANAGER = "http://127.0.0.1:9090", "http://127.0.0.1:9093"
# The stack's images that are not ours: pulled, or stand-ins built where no registry answers.
BASES = sorted(
    {s["image"] for s in yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"].values()}
    - {"conveyor/task:latest", "conveyor/airflow:latest", "conveyor/serving:latest"}
)
# Faults are found in seconds, not Airflow's production minutes: a task without a heartbeat
# for 45 s is failed (its worker is gone), and retries wait 5 s.
FAST_RECOVERY = {"AIRFLOW_TASK_HEARTBEAT_TIMEOUT": "45", "CONVEYOR_RETRY_DELAY_SECONDS": "5"}
WORKERS = ("--scale", "airflow-worker=2")
README_REQUEST = {"origin": "EAS-01", "destination": "EAS-03", "date": "2024-05-07"}
EPOCH_LOGGED = re.compile(r" epoch (\d+)/\d+ loss")
TRAIN, INGEST, MONITOR = "freight_volume__train", "freight_volume__ingest", "freight_volume__monitor"
STEPS = (
    "apply_features",
    "build_datasets",
    "train_model",
    "evaluate_model",
    "gate_model",
    "register_model",
    "promote_model",
)


# The stack's services answer slowly while a 2-core machine also builds, trains and tests:
# httpx's default 5 s read timeout failed a CI run on an MLflow lookup (a busy server, not a
# broken one), so every request here waits up to a minute.
HTTP_TIMEOUT = 60


def get(url: str, **kwargs) -> httpx.Response:
    return httpx.get(url, timeout=HTTP_TIMEOUT, **kwargs)


def post(url: str, **kwargs) -> httpx.Response:
    return httpx.post(url, timeout=HTTP_TIMEOUT, **kwargs)


def compose(env_file: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    command = ["docker-compose", "--env-file", str(env_file), "-p", "conveyor", "-f", "docker-compose.yml"]
    return subprocess.run([*command, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout)


class Laps:
    """Seconds per phase of the test, printed as each ends (a failure's output, or `-s`,
    says where a slow run's time went)."""

    def __init__(self) -> None:
        self.start = self.last = time.monotonic()

    def __call__(self, phase: str) -> None:
        now = time.monotonic()
        print(f"[stack] {phase}: {now - self.last:.0f} s (total {now - self.start:.0f} s)", flush=True)
        self.last = now


def wait_until(what: str, ready: Callable[[], object], timeout: float, env_file: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    pytest.fail(f"{what} not ready within {timeout} s:\n{service_report(env_file)}")


def service_report(env_file: Path) -> str:
    """What a failed start needs: each service's state and the last lines of its log."""
    logs = compose(env_file, "logs", "--no-color", "--tail", "30").stdout
    return f"\n{compose(env_file, 'ps').stdout}\n{logs[-8000:]}"


def healthy(env_file: Path) -> None:
    wait_until("Airflow", lambda: get(f"{AIRFLOW}/api/v2/monitor/health").status_code == 200, 300, env_file)
    wait_until("MLflow", lambda: get(f"{MLFLOW}/health").status_code == 200, 300, env_file)


def conveyor(env_file: Path, *command: str, entrypoint: str = "conveyor") -> str:
    """A one-off command in the compose file's `conveyor` service, as the README runs them:
    the task image on the stack's state volume and network."""
    done = compose(env_file, "run", "--rm", "--entrypoint", entrypoint, "conveyor", *command)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def stack(task_image, airflow_image, tmp_path_factory):
    """The stack up, healthy, with its secrets (and faster fault detection than production)."""
    built(tmp_path_factory, "serving")
    bases = subprocess.run([REPO / "scripts/offline_images.sh", *BASES], capture_output=True, text=True)
    assert bases.returncode == 0, bases.stdout[-3000:] + bases.stderr[-3000:]
    env_file = tmp_path_factory.mktemp("stack") / ".env"
    subprocess.run([sys.executable, REPO / "scripts/make_secrets.py", "--env-file", env_file], check=True)
    secrets = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    with env_file.open("a") as env:
        env.writelines(f"{name}={value}\n" for name, value in FAST_RECOVERY.items())
    remove_stack(env_file)
    try:
        up = compose(env_file, "up", "-d", *WORKERS)
        assert up.returncode == 0, up.stderr[-2000:] + service_report(env_file)
        healthy(env_file)
        yield {"env_file": env_file, "secrets": secrets}
    finally:
        remove_stack(env_file)


def remove_stack(env_file: Path) -> None:
    """The stack and its volumes, and first any task container still on its state volume
    (compose does not know them; a run cut short leaves them, and they hold the volume)."""
    left = docker("ps", "-aq", "--filter", "volume=conveyor-state").stdout.split()
    if left:
        docker("rm", "--force", *left)
    compose(env_file, "down", "--volumes", "--remove-orphans")


def airflow_login(stack) -> httpx.Client:
    token = post(
        f"{AIRFLOW}/auth/token",
        json={"username": "admin", "password": stack["secrets"]["AIRFLOW_ADMIN_PASSWORD"]},
    )
    assert token.status_code in (200, 201), token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=AIRFLOW, headers=headers, timeout=HTTP_TIMEOUT)


def task_instances(api: httpx.Client, dag: str, run_id: str) -> dict[str, dict]:
    """The run's task instances by task id; none while the API cannot say."""
    listed = api.get(f"/api/v2/dags/{dag}/dagRuns/{run_id}/taskInstances")
    return {t["task_id"]: t for t in listed.json()["task_instances"]} if listed.status_code == 200 else {}


def run_state(api: httpx.Client, dag: str, run_id: str) -> str | None:
    """The run's state; None while the API cannot say (PostgreSQL restarting, say)."""
    answer = api.get(f"/api/v2/dags/{dag}/dagRuns/{run_id}")
    return answer.json()["state"] if answer.status_code == 200 else None


def finished_run(api: httpx.Client, dag: str, run_id: str, env_file: Path, timeout: float = 1800) -> dict:
    def done() -> bool:
        return run_state(api, dag, run_id) in ("success", "failed")

    wait_until(f"{dag} run {run_id}", done, timeout, env_file)
    tasks = task_instances(api, dag, run_id)
    return {
        "state": api.get(f"/api/v2/dags/{dag}/dagRuns/{run_id}").json()["state"],
        "tasks": {task: ti["state"] for task, ti in tasks.items()},
        "tries": {task: ti["try_number"] for task, ti in tasks.items()},
    }


def trigger(api: httpx.Client, dag: str, logical_date: str, conf: dict | None = None) -> str:
    asked = api.post(f"/api/v2/dags/{dag}/dagRuns", json={"logical_date": logical_date, "conf": conf or {}})
    assert asked.status_code == 200, asked.text
    return asked.json()["dag_run_id"]


def run_once(api: httpx.Client, dag: str, logical_date: str, env_file: Path) -> dict:
    """A run of a paused DAG for one day: unpaused only while it runs. Unpausing makes the
    scheduler add its own run for the latest interval (today, which has no data); that one
    is marked failed, so that the one-run-at-a-time DAG gets to the asked-for day."""
    run_id = trigger(api, dag, logical_date)
    assert api.patch(f"/api/v2/dags/{dag}", json={"is_paused": False}).status_code == 200

    def asked_run_finished() -> bool:
        for run in api.get(f"/api/v2/dags/{dag}/dagRuns", params={"run_type": "scheduled"}).json()[
            "dag_runs"
        ]:
            if run["state"] in ("queued", "running"):
                api.patch(f"/api/v2/dags/{dag}/dagRuns/{run['dag_run_id']}", json={"state": "failed"})
        return run_state(api, dag, run_id) in ("success", "failed")

    wait_until(f"{dag} run for {logical_date}", asked_run_finished, 900, env_file)
    assert api.patch(f"/api/v2/dags/{dag}", json={"is_paused": True}).status_code == 200
    return finished_run(api, dag, run_id, env_file)


def test_the_stack_runs_every_step_in_a_container_and_survives_its_faults(
    stack, task_image, prepared_lakehouse, request
):
    env_file, secrets = stack["env_file"], stack["secrets"]
    laps = Laps()
    # The README's path: 120 days of sample freight landed and loaded into gold at once (the
    # same days, from the same generator, as the prepared lakehouse the test reads here).
    conveyor(env_file, "generate", "-m", "freight_volume", "--start", "2024-01-01", "--days", "120")
    loaded = conveyor(env_file, "backfill", "-m", "freight_volume", "--start", "2024-01-02", "--days", "120")
    assert "freight 2024-01-02 .. 2024-04-30 into gold" in loaded, loaded
    api = airflow_login(stack)
    assert get(f"{AIRFLOW}/api/v2/dags").status_code == 401, "the API needs a login"
    wait_until(
        "the DAG processor", lambda: api.get(f"/api/v2/dags/{TRAIN}").status_code == 200, 180, env_file
    )
    mlflow_auth = ("admin", secrets["MLFLOW_ADMIN_PASSWORD"])

    def version_tags(alias: str) -> dict[str, str]:
        found = get(
            f"{MLFLOW}/api/2.0/mlflow/registered-models/alias",
            auth=mlflow_auth,
            params={"name": "freight_volume", "alias": alias},
        )
        assert found.status_code == 200, found.text
        version = found.json()["model_version"]
        return {"version": version["version"], **{t["key"]: t["value"] for t in version["tags"]}}

    laps("backfill and login")

    # -- The nightly schedule fires by itself; every step is a task-image container. --------
    # Container starts, streamed as they happen (the engine keeps only its last 256 events,
    # and the stack's health checks alone fill that within minutes).
    watcher = subprocess.Popen(
        ["docker", "events", "--filter", "type=container", "--filter", "event=start",
         "--filter", f"image={task_image}", "--format", "{{.Actor.Attributes.name}}"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    request.addfinalizer(watcher.kill)
    time.sleep(2)
    # Unpaused, the scheduler starts the model's nightly run by itself (the last cron tick).
    assert api.patch(f"/api/v2/dags/{TRAIN}", json={"is_paused": False}).status_code == 200

    def scheduled_runs() -> list[dict]:
        return api.get(f"/api/v2/dags/{TRAIN}/dagRuns", params={"run_type": "scheduled"}).json()["dag_runs"]

    wait_until("the nightly run", lambda: bool(scheduled_runs()), 120, env_file)
    nightly = finished_run(api, TRAIN, scheduled_runs()[0]["dag_run_id"], env_file)
    assert nightly["state"] == "success", json.dumps(nightly)
    assert all(nightly["tasks"][step] == "success" for step in STEPS), json.dumps(nightly)
    watcher.terminate()
    started_containers = watcher.communicate(timeout=30)[0].split()
    step_containers = {name.split("-")[1] for name in started_containers if name.startswith("conveyor-")}
    assert step_containers >= set(STEPS), started_containers

    # The champion names the commit its image was built from, this checkout's, and why it ran.
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    champion = version_tags("champion")
    assert champion["conveyor.git_commit"] == head and champion["conveyor.trigger_reason"] == "schedule"
    lineage = json.loads(conveyor(env_file, "lineage", "freight_volume@champion", "--json").splitlines()[-1])
    assert head in json.dumps(lineage), lineage

    laps("nightly run")

    # -- Serving follows the champion and needs the token; the Models view shows it. --------
    wait_until("serving", lambda: get(f"{SERVING}/ready").status_code == 200, 180, env_file)
    lakehouse, config = Lakehouse(str(prepared_lakehouse)), load_model_config("freight_volume")
    sample = gold_instances(lakehouse, config, date(2024, 4, 20), date(2024, 4, 20))[:3]
    assert post(f"{SERVING}/predict", json={"instances": sample}).status_code == 401
    serving = httpx.Client(
        base_url=SERVING,
        headers={"Authorization": f"Bearer {secrets['CONVEYOR_SERVING_TOKEN']}"},
        timeout=HTTP_TIMEOUT,
    )
    answered = serving.post("/predict", json={"instances": sample})
    assert answered.status_code == 200 and answered.json()["version"] == champion["version"], answered.text
    # The README's first request: by key, features from the online store loaded for gold's last day.
    conveyor(env_file, "features", "materialize", "-m", "freight_volume", "-d", "2024-04-30")
    by_key = serving.post("/predict", json={"instances": [README_REQUEST]})
    assert by_key.status_code == 200, by_key.text
    assert by_key.json()["predictions"][0]["features_from"] == "online", by_key.text
    view = api.get("/conveyor/api/models/freight_volume")
    assert view.status_code == 200 and view.json()["champion"]["version"] == champion["version"], view.text

    laps("serving")

    # -- Prometheus scrapes serving and the monitor's results, and alerts its Alertmanager. --
    def scraped() -> bool:
        targets = get(f"{PROMETHEUS}/api/v1/targets").json()["data"]["activeTargets"]
        up = {(t["labels"]["job"], t["labels"].get("model", "")) for t in targets if t["health"] == "up"}
        return {("conveyor-monitor", ""), ("conveyor-serving", "freight_volume")} <= up

    wait_until("Prometheus's scrapes (with the compose secrets' tokens)", scraped, 180, env_file)
    assert get(f"{PROMETHEUS}/api/v1/rules").json()["data"]["groups"], "deploy/prometheus/rules.yml loaded"
    assert get(f"{PROMETHEUS}/api/v1/alertmanagers").json()["data"]["activeAlertmanagers"]

    laps("Prometheus")

    # -- A new day lands and is ingested, step by step in containers, into gold and Feast. ---
    # (a batch's logical date is the day after its service day)
    conveyor(env_file, "generate", "-m", "freight_volume", "--start", "2024-04-30", "--days", "1")
    ingest = run_once(api, INGEST, "2024-05-01T00:00:00Z", env_file)
    assert ingest["state"] == "success", ingest
    gold_days = conveyor(env_file, "/var/lib/conveyor/lakehouse/gold/freight", entrypoint="ls")
    assert "2024-05-01" in gold_days, gold_days

    laps("ingest DAG")

    # -- A fortnight of traffic; the monitor DAG's checks, containers too, judge it healthy. -
    served = send(serving, gold_instances(lakehouse, config, date(2024, 4, 24), date(2024, 5, 6)), 50)
    assert served, "traffic answered"
    time.sleep(3)  # the prediction log is written every second
    monitor = run_once(api, MONITOR, "2024-04-30T00:00:00Z", env_file)
    assert monitor["state"] == "success" and monitor["tasks"]["ingest_actuals"] == "success", monitor
    assert monitor["tasks"]["check_performance"] == monitor["tasks"]["check_drift"] == "skipped", monitor

    laps("traffic and monitor DAG")

    # -- One retrain asked through the REST API: it tunes first (its trials a mapped task over
    # the workers, one study in PostgreSQL), and meets faults, each recovered, nothing lost.
    drill = trigger(
        api,
        TRAIN,
        "2024-05-01T00:00:00Z",
        {"reason": "fault drill", "tune": True, "overrides": {"epochs": 30}},
    )
    killed_worker = kill_the_worker_running(api, drill, "apply_features", env_file)
    killed_at_epoch = kill_training_container_after(4, env_file)
    restart_postgres_once_training_resumed(api, drill, env_file)
    faults = finished_run(api, TRAIN, drill, env_file)
    assert faults["state"] == "success", faults
    assert faults["tasks"]["finish_tuning"] == "success", faults
    # The task whose worker died ran again; the training resumed from its checkpoint.
    assert faults["tries"]["apply_features"] >= 2 and faults["tries"]["train_model"] >= 2, faults
    trained_run, resumed = training_run_params(api, drill, mlflow_auth)
    # (the epoch logged last may not have reached its checkpoint when the kill came)
    assert int(resumed["resumed_from_epoch"]) >= killed_at_epoch - 1 >= 3, (resumed, killed_at_epoch)
    assert docker("ps", "-aq", "--filter", "name=conveyor-apply_features-").stdout.split() == [], (
        "the dead worker's container was removed by the retry"
    )
    print(f"killed worker {killed_worker}, training at epoch {killed_at_epoch}; run {faults}")
    # The version it registered records the study: every trial of the config's count ran.
    (registered,) = get(
        f"{MLFLOW}/api/2.0/mlflow/model-versions/search",
        auth=mlflow_auth,
        params={"filter": f"run_id='{trained_run}'"},
    ).json()["model_versions"]
    tags = {t["key"]: t["value"] for t in registered["tags"]}
    tuning = json.loads(tags["conveyor.tuning"])
    assert tags["conveyor.trigger_reason"] == "fault drill" and tuning["study"].startswith("freight_volume__")
    assert sum(tuning["trials"].values()) == load_model_config("freight_volume").tuning.trials, tuning

    laps("fault drill")

    # -- make down && make up: champion, registry, prediction log and lakehouse all kept. ---
    logged = prediction_rows()
    before = {
        "champion": version_tags("champion")["version"],
        "answer": serving.post("/predict", json={"instances": sample}).json()["predictions"],
    }
    assert compose(env_file, "down").returncode == 0
    up = compose(env_file, "up", "-d", *WORKERS)
    assert up.returncode == 0, up.stderr[-2000:] + service_report(env_file)
    healthy(env_file)
    wait_until("serving", lambda: get(f"{SERVING}/ready").status_code == 200, 180, env_file)
    assert version_tags("champion")["version"] == before["champion"]
    again = serving.post("/predict", json={"instances": sample})
    assert again.status_code == 200 and again.json()["predictions"] == before["answer"], again.text
    assert prediction_rows() >= logged > 0
    assert "2024-05-01" in conveyor(env_file, "/var/lib/conveyor/lakehouse/gold/freight", entrypoint="ls")

    laps("down and up")

    # -- An alert sent to Alertmanager reaches the receiver, which starts a retrain. -------
    alert = {"labels": {"alertname": "StackTestAlert", "model": "freight_volume", "severity": "page"}}
    assert post(f"{ALERTMANAGER}/api/v2/alerts", json=[alert]).status_code == 200

    def alert_run() -> list[dict]:
        runs = api.get(f"/api/v2/dags/{TRAIN}/dagRuns").json()["dag_runs"]
        return [r for r in runs if r["dag_run_id"].startswith("alert__StackTestAlert__")]

    wait_until("the alert's retrain", lambda: bool(alert_run()), 180, env_file)
    assert alert_run()[0]["conf"]["reason"] == "alert: StackTestAlert"
    laps("alert")


def service_containers(service: str) -> dict[str, str]:
    """Container id (12 characters, the container's hostname) -> name, of a compose service."""
    listed = docker(
        "ps", "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.ID}} {{.Names}}"
    )
    return dict(line.split() for line in listed.stdout.splitlines())


def kill_the_worker_running(api: httpx.Client, run_id: str, task: str, env_file: Path) -> str:
    """SIGKILL the Celery worker container running ``task`` of ``run_id``, mid-task."""
    workers = service_containers("airflow-worker")
    assert len(workers) == 2, workers
    running: dict = {}

    def task_running() -> bool:
        running.update(task_instances(api, TRAIN, run_id).get(task, {}))
        return running.get("state") == "running" and running.get("hostname") in workers

    wait_until(f"{task} running on a worker", task_running, 300, env_file)
    docker("kill", running["hostname"])
    return workers[running["hostname"]]


def kill_training_container_after(epoch: int, env_file: Path) -> int:
    """SIGKILL the training container once it has logged ``epoch`` epochs; the epoch it had
    reached."""
    reached: dict[str, int] = {}

    def trained_enough() -> bool:
        names = docker(
            "ps", "--filter", "name=conveyor-train_model-", "--format", "{{.Names}}"
        ).stdout.split()
        if not names:
            return False
        logs = docker("logs", names[0], check=False)
        epochs = [int(e) for e in EPOCH_LOGGED.findall(logs.stdout + logs.stderr)]
        if epochs and max(epochs) >= epoch:
            docker("kill", names[0])
            reached["epoch"] = max(epochs)
            return True
        return False

    # (after the tuning's trials, when the run tunes first)
    wait_until(f"training past epoch {epoch}", trained_enough, 1800, env_file)
    return reached["epoch"]


def restart_postgres_once_training_resumed(api: httpx.Client, run_id: str, env_file: Path) -> None:
    def retry_running() -> bool:
        train = task_instances(api, TRAIN, run_id).get("train_model", {})
        return train.get("try_number", 0) >= 2 and train.get("state") == "running"

    wait_until("the training's retry", retry_running, 300, env_file)
    docker("restart", *service_containers("postgres"))


def training_run_params(api: httpx.Client, run_id: str, auth: tuple[str, str]) -> tuple[str, dict[str, str]]:
    """The MLflow run id of the DAG run's training, and its parameters."""
    entry = api.get(
        f"/api/v2/dags/{TRAIN}/dagRuns/{run_id}/taskInstances/train_model/xcomEntries/return_value"
    )
    assert entry.status_code == 200, entry.text
    trained = entry.json()["value"]
    trained = json.loads(trained) if isinstance(trained, str) else trained
    run = get(f"{MLFLOW}/api/2.0/mlflow/runs/get", params={"run_id": trained["run_id"]}, auth=auth)
    assert run.status_code == 200, run.text
    return trained["run_id"], {p["key"]: p["value"] for p in run.json()["run"]["data"]["params"]}


def prediction_rows() -> int:
    (postgres,) = service_containers("postgres")
    count = "SELECT count(*) FROM predictions"
    counted = docker("exec", postgres, "psql", "--username", "postgres", "--dbname", "serving",
                     "--tuples-only", "--no-align", "--command", count)  # fmt: skip
    return int(counted.stdout.strip())
