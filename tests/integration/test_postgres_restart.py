"""PostgreSQL restarts while the train DAG runs: the task talking to it fails on the lost
connection, Airflow retries it once the database is back, and the run ends with a champion.

MLflow's backend, Feast's SQL registry and the prediction log are in a PostgreSQL cluster
of the test's own, so it can be stopped and started; Airflow's metadata stays on SQLite,
so only the stores the tasks use go away."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from glob import glob
from pathlib import Path

import pytest

from pipelines.config.load import load_platform_config
from pipelines.features.store import feature_store
from pipelines.local.airflow import airflow_environment
from pipelines.release.registry import CHAMPION, alias_version
from pipelines.training.tracking import mlflow_client
from tests.conftest import TRAINED_AS_OF
from tests.integration.conftest import MACHINE_REDIS
from tests.support import free_port

DAG_ID = "freight_volume__train"


def postgres_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: the one on PATH, else Debian's newest."""
    on_path = shutil.which("pg_ctl")
    folders = [Path(on_path).resolve().parent] if on_path else []
    debian = [Path(p) for p in glob("/usr/lib/postgresql/*/bin") if Path(p).parent.name.isdigit()]
    folders += sorted(debian, key=lambda folder: int(folder.parent.name), reverse=True)
    return next((f for f in folders if (f / "initdb").exists() and (f / "pg_ctl").exists()), None)


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own, on a free port, with trust authentication.

    PostgreSQL refuses to run as root: as root, its folder belongs to the ``postgres`` OS
    user and initdb and pg_ctl run as that user. The folder is not under pytest's tmp_path,
    whose parents only root may enter."""

    def __init__(self, binaries: Path) -> None:
        self.binaries, self.port = binaries, free_port()
        as_root = os.geteuid() == 0
        self.folder = Path(tempfile.mkdtemp(prefix="conveyor-pg-", dir="/tmp" if as_root else None))
        self.as_owner: list[str] = []
        if as_root:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self._pg("initdb", "-D", "data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale",
                 "--no-sync")  # fmt: skip
        self.running = False

    def _pg(self, program: str, *arguments: str) -> None:
        command = [*self.as_owner, str(self.binaries / program), *arguments]
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{program} failed:\n{done.stdout}\n{done.stderr}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        # fsync off: nothing here has to survive a power cut, and MLflow's migrations commit a lot.
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg("pg_ctl", "-D", "data", "-l", "postgres.log", "-o", options, "-w", "-t", "60", "start")
        self.running = True

    def stop(self) -> None:
        """A fast shutdown, as ``docker stop`` does: every open session is cut."""
        self._pg("pg_ctl", "-D", "data", "-m", "fast", "-w", "-t", "60", "stop")
        self.running = False

    def create_database(self, name: str) -> str:
        import sqlalchemy

        server = sqlalchemy.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
        server.dispose()
        return self.url(name)

    def log(self) -> str:
        path = self.folder / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        if self.running:
            self._pg("pg_ctl", "-D", "data", "-m", "immediate", "-w", "stop")
            self.running = False
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres():
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL's server binaries (initdb, pg_ctl) are not installed on this machine")
    server = PrivatePostgres(binaries)
    server.start()
    yield server
    server.remove()


@pytest.fixture
def private_stack(stack_env, private_postgres, monkeypatch):
    """The compose profile with every store the train DAG's tasks use in the private
    cluster; Feast's online store on the machine's Redis, under the test's own project."""
    for variable, database in (("MLFLOW_TRACKING_URI", "mlflow"), ("CONVEYOR_FEAST_REGISTRY_URL", "feast"),
                               ("CONVEYOR_PREDICTION_LOG_URL", "predictions")):  # fmt: skip
        monkeypatch.setenv(variable, private_postgres.create_database(database))
    monkeypatch.setenv("CONVEYOR_REDIS", MACHINE_REDIS)
    monkeypatch.setenv("CONVEYOR_RETRY_DELAY_SECONDS", "3")  # a retry in seconds, not minutes
    platform = load_platform_config()
    yield platform
    if not private_postgres.running:  # the test failed while the database was down
        private_postgres.start()
    feature_store(platform).teardown()  # the project's keys out of Redis


def mlflow_runs(server: PrivatePostgres) -> list[tuple[str, str]]:
    """MLflow's runs as (run id, status); none before MLflow has created its tables."""
    import psycopg2

    try:
        connection = psycopg2.connect(host="127.0.0.1", port=server.port, user="postgres", dbname="mlflow",
                                      connect_timeout=2)  # fmt: skip
        with closing(connection), connection.cursor() as cursor:
            cursor.execute("SELECT run_uuid, status FROM runs")
            return [(str(run), str(status)) for run, status in cursor.fetchall()]
    except psycopg2.Error:  # no runs table yet
        return []


def task_states(airflow_db: Path) -> dict[str, tuple[str | None, int]]:
    """The run's tasks as Airflow's metadata database has them: task id -> (state, try)."""
    try:
        with sqlite3.connect(f"file:{airflow_db}?mode=ro", uri=True, timeout=10) as connection:
            rows = connection.execute(
                "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ?", (DAG_ID,)
            ).fetchall()
    except sqlite3.OperationalError:  # not migrated, or locked by a writer for too long
        return {}
    return {task: (state, int(tries)) for task, state, tries in rows}


def failed_tasks(airflow_db: Path) -> dict[str, tuple[str | None, int]]:
    return {task: s for task, s in task_states(airflow_db).items() if s[0] in ("up_for_retry", "failed")}


def test_a_postgres_restart_during_training_fails_a_task_and_its_retry_succeeds(
    private_stack, private_postgres, tmp_path
):
    env = airflow_environment(private_stack.home, tmp_path / "airflow")
    airflow_db = tmp_path / "airflow" / "airflow.db"
    output, errors = tmp_path / "dag-run.out", tmp_path / "dag-run.err"  # the tasks' logs go to stdout
    # run_dag's command, started without waiting for it
    command = [sys.executable, "-m", "conveyor.local_run", DAG_ID, TRAINED_AS_OF.isoformat(),
               json.dumps({"reason": "manual"})]  # fmt: skip
    with output.open("w") as out, errors.open("w") as err:
        dag_run = subprocess.Popen(command, env=env, stdout=out, stderr=err)

    def waiting(what: str, deadline: float) -> None:
        logs = output.read_text(errors="replace")[-3000:] + errors.read_text(errors="replace")[-3000:]
        assert dag_run.poll() is None, f"the DAG run ended while waiting for {what}:\n{logs}"
        assert time.monotonic() < deadline, f"no {what} in time; tasks {task_states(airflow_db)}\n{logs}"
        time.sleep(0.1)

    try:
        # train_model has trained and is logging its run to MLflow: PostgreSQL goes away...
        deadline = time.monotonic() + 240
        while not mlflow_runs(private_postgres):
            waiting("MLflow run", deadline)
        at_stop = task_states(airflow_db)
        private_postgres.stop()
        # ...and stays away until a task has failed on it; then it comes back.
        deadline = time.monotonic() + 120
        while not (failed := failed_tasks(airflow_db)):
            waiting("task failing while PostgreSQL is down", deadline)
        private_postgres.start()
        dag_run.wait(timeout=300)
    finally:
        if dag_run.poll() is None:
            dag_run.kill()
            dag_run.wait()

    logs = output.read_text(errors="replace")
    assert dag_run.returncode == 0, logs[-3000:] + errors.read_text(errors="replace")[-3000:]
    outcome = json.loads(logs.strip().splitlines()[-1])
    print(f"tasks at the stop: {at_stop}\nfailed while down: {failed}\noutcome: {outcome}")
    assert outcome["state"].endswith("success") and outcome["tasks"]["promote_model"] == "success", outcome
    assert all(state == "up_for_retry" for state, _ in failed.values()), f"failed for good: {failed}"
    assert "psycopg2.OperationalError" in logs, "a task failed, but not on the lost connection"
    for task, (_, tries) in failed.items():  # retried, and the retry succeeded
        assert outcome["tasks"][task] == "success" and outcome["tries"][task] > tries, (task, outcome)
    assert alias_version(mlflow_client(private_stack), "freight_volume", CHAMPION) == "1"
    # The try that lost the database mid-logging left its run open; the retry closed it.
    statuses = sorted(status for _, status in mlflow_runs(private_postgres))
    assert "RUNNING" not in statuses and "FINISHED" in statuses, statuses
