"""Helpers for tests that run DAGs: a throwaway Airflow home, and ``dag.test`` in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def airflow_env(model_home: Path, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "CONVEYOR_HOME": str(model_home),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "CONVEYOR_EXECUTION": "local",
    }
    airflow = str(Path(sys.executable).parent / "airflow")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([airflow, "pools", "set", "gpu", "1", "one GPU"], env=env, check=True, capture_output=True)
    return env


def run_dag(env: dict[str, str], dag_id: str, logical_date: str, conf: dict | None = None) -> dict:
    command = [sys.executable, str(REPO / "tests" / "integration" / "run_dag.py"), dag_id, logical_date]
    done = subprocess.run([*command, json.dumps(conf or {})], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
