"""Helpers for tests that start servers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from pipelines.local.airflow import airflow_environment


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def postgres_database(server: str, prefix: str) -> Iterator[str]:
    """A database of its own on the PostgreSQL at ``server`` (a SQLAlchemy URL without a
    database), named ``<prefix>_<random>``; dropped afterwards, even while connections remain."""
    import uuid

    import sqlalchemy

    engine = sqlalchemy.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def wait_for(url: str, timeout: float, log: Callable[[], str]) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {timeout}s; server log:\n{log()[-3000:]}")


@contextmanager
def airflow_api_server(
    conveyor_home: Path,
    folder: Path,
    login: tuple[str, str, str],
    *,
    reserialize: bool = False,
    extra_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """A real Airflow API server on ``conveyor_home`` (our DAGs and plugins, SQLite in
    ``folder``) whose simple auth manager knows one ``(user, role, password)``; yields its
    URL. ``reserialize`` writes the DAGs to the database first, for tests that trigger them."""
    user, role, password = login
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps({user: password}))
    env = airflow_environment(conveyor_home, folder / "airflow") | {
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{user}:{role}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        **(extra_env or {}),
    }
    airflow = str(Path(sys.executable).parent / "airflow")
    if reserialize:
        subprocess.run([airflow, "dags", "reserialize"], env=env, check=True, capture_output=True)
    port, log_path = free_port(), folder / "api-server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([airflow, "api-server", "--port", str(port)], env=env,
                                  stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/api/v2/monitor/health", 120, log_path.read_text)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


class MlflowServer:
    """The MLflow server as the compose stack starts it (docker/mlflow-server.sh), on
    databases of its own; stoppable and startable again (its state is in PostgreSQL)."""

    SCRIPT = Path(__file__).resolve().parents[1] / "docker" / "mlflow-server.sh"
    PASSWORD = "a-generated-admin-password"

    def __init__(self, backend_url: str, auth_url: str, folder: Path) -> None:
        self.port, self.folder = free_port(), folder
        folder.mkdir(parents=True, exist_ok=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "mlflow.log"
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "MLFLOW_BACKEND_STORE_URI": backend_url,
            "MLFLOW_AUTH_DATABASE_URI": auth_url,
            "MLFLOW_AUTH_ADMIN_PASSWORD": self.PASSWORD,
            "MLFLOW_FLASK_SERVER_SECRET_KEY": "a-generated-flask-secret",
            "MLFLOW_ARTIFACTS_DESTINATION": str(folder / "artifacts"),
            "MLFLOW_HOST": "127.0.0.1",
            "MLFLOW_PORT": str(self.port),
            "MLFLOW_ALLOWED_HOSTS": f"127.0.0.1:{self.port}",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(["sh", str(self.SCRIPT)], env=self.env, stdout=log, stderr=log)
        wait_for(f"{self.url}/health", 180, self.log.read_text)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None
