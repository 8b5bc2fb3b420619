"""A real Airflow for the browser tests: API server (with the UI), scheduler with the
LocalExecutor, DAG processor and triggerer, on a PostgreSQL database of its own, every
task a `conveyor` subprocess on a CONVEYOR_HOME the test prepared; and the REST calls the
tests check the UI's work with."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from pipelines.local.airflow import airflow_environment
from tests.support import free_port, wait_for

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
USER, PASSWORD = "admin", "an-e2e-admin-password"
FINISHED = {"success", "failed"}
# The API server shares two cores with training tasks and the rest of the suite: be patient.
PATIENCE = 60


class AirflowStack:
    """Started with ``start``, stopped (every process, even when a start failed) with ``stop``."""

    def __init__(self, conveyor_home: Path, folder: Path, database_url: str) -> None:
        self.port, self.folder = free_port(), folder
        self.url = f"http://127.0.0.1:{self.port}"
        self.logs = folder / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        passwords = folder / "passwords.json"
        passwords.write_text(json.dumps({USER: PASSWORD}))
        self.env = airflow_environment(conveyor_home, folder / "airflow", database_url) | {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__BASE_URL": self.url,
            # Every process signs and checks the tasks' tokens with the same key.
            "AIRFLOW__API_AUTH__JWT_SECRET": "an-e2e-jwt-secret-long-enough-for-hs512-signing-0123456789",
            "AIRFLOW__API__SECRET_KEY": "an-e2e-secret-key",
            # A new registered version reaches the rollback form within seconds, not minutes.
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            # Only the runs the test triggers: the form unpauses the DAG, and a nightly run it
            # would then schedule for today would queue the test's run behind it.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__CORE__PARALLELISM": "2",  # two cores shared with the rest of the suite
            "CONVEYOR_RETRY_DELAY_SECONDS": "1",
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for name in SERVICES:
            log = (self.logs / f"{name}.log").open("w")
            command = ["airflow", name, *(["--port", str(self.port)] if name == "api-server" else [])]
            self.processes[name] = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(f"{self.url}/api/v2/monitor/health", 180, self.log_tail)
        # The tasks' API, whose routes the server builds on its first request (5-7 s), as a
        # running Airflow's health check has long since asked it (docker-compose.yml).
        wait_for(f"{self.url}/execution/health", 180, self.log_tail)
        self.headers = {"Authorization": f"Bearer {self.token()}"}
        deadline = time.monotonic() + 180
        while not {"freight_volume__train", "freight_volume__rollback"} <= self.dag_ids():
            assert time.monotonic() < deadline, "the DAGs were never parsed:\n" + self.log_tail()
            time.sleep(1)

    def stop(self) -> None:
        # Each service leads a process group (its workers, its task subprocesses): end the group.
        for process in self.processes.values():
            if process.poll() is None:
                signal_group(process, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        self.processes.clear()

    def log_tail(self) -> str:
        return "".join(f"--- {p.name}\n{p.read_text()[-1500:]}\n" for p in sorted(self.logs.glob("*.log")))

    def token(self) -> str:
        answer = httpx.post(
            f"{self.url}/auth/token", json={"username": USER, "password": PASSWORD}, timeout=PATIENCE
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def get(self, path: str) -> Any:
        answer = httpx.get(f"{self.url}/api/v2/{path}", headers=self.headers, timeout=PATIENCE)
        answer.raise_for_status()
        return answer.json()

    def dag_ids(self) -> set[str]:
        return {dag["dag_id"] for dag in self.get("dags?limit=100")["dags"]}

    def rollback_choices(self, dag_id: str) -> dict[str, str]:
        """The versions the rollback form offers now, each with the label it shows (its
        serialized Param's enum and values_display: the champion is marked)."""
        schema = self.get(f"dags/{dag_id}/details")["params"]["version"]["schema"]
        labels = schema.get("values_display") or {}
        return {version: labels.get(version, version) for version in schema.get("enum", [])}

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.get(f"dags/{dag_id}/dagRuns?order_by=-run_after")["dag_runs"])

    def wait_for_run(self, dag_id: str, timeout: float) -> dict[str, Any]:
        """The newest run of ``dag_id`` once it finished; fails with the task states if late."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs(dag_id)
            if runs and runs[0]["state"] in FINISHED:
                return runs[0]
            time.sleep(2)
        tasks = self.task_states(dag_id, runs[0]["dag_run_id"]) if runs else {}
        raise AssertionError(f"{dag_id} did not finish in {timeout}s: {tasks}\n{self.log_tail()}")

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        instances = self.get(f"dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {ti["task_id"]: ti["state"] for ti in instances}


def signal_group(process: subprocess.Popen[bytes], which: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group ended on its own
        os.killpg(process.pid, which)
