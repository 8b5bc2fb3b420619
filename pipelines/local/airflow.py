"""Airflow on the embedded default, driven from outside: an environment for it and a way
to run one DAG for real with ``dag.test`` (``conveyor.local_run``) in a process of its
own. Imports nothing of Airflow here: the demo and tests stay free of its configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipelines.config.load import REPO_ROOT as REPO


def airflow_folder(name: str) -> Path:
    """The checkout's ``dags`` or ``plugins``; an image that holds them elsewhere says where
    (``CONVEYOR_DAGS_DIR``, ``CONVEYOR_PLUGINS_DIR``: the task image's demo)."""
    return Path(os.environ.get(f"CONVEYOR_{name.upper()}_DIR", REPO / name))


def airflow_environment(
    conveyor_home: Path, airflow_home: Path, database_url: str | None = None
) -> dict[str, str]:
    """Environment for Airflow; migrates its metadata database once. SQLite in
    ``airflow_home`` by default, or the database at ``database_url`` (PostgreSQL)."""
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(conveyor_home),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(airflow_folder("dags")),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(airflow_folder("plugins")),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "CONVEYOR_EXECUTION": "local",
        "PYTHONPATH": os.pathsep.join([str(airflow_folder("plugins")), os.environ.get("PYTHONPATH", "")]),
    }
    if database_url:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = database_url
    if database_url or not (airflow_home / "airflow.db").exists():
        airflow = str(Path(sys.executable).parent / "airflow")
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
        subprocess.run([airflow, "pools", "set", "gpu", "1", "one GPU per training"], env=env,
                       check=True, capture_output=True)  # fmt: skip
    return env


def run_dag(env: dict[str, str], dag_id: str, logical_date: str, conf: dict | None = None) -> dict:
    """Run ``dag_id`` for ``logical_date`` in a fresh process; returns the outcome."""
    command = [sys.executable, "-m", "conveyor.local_run", dag_id, logical_date, json.dumps(conf or {})]
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{dag_id} could not run:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
