"""The MLflow server exactly as the compose stack starts it (docker/mlflow-server.sh), on
the real PostgreSQL: it refuses to start without its secrets, and with them it answers
only requests that log in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support import free_port, wait_for

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "mlflow-server.sh"
PASSWORD = "a-generated-admin-password"


def test_the_tracking_server_needs_its_secrets_and_a_login(new_database, tmp_path):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    missing = subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "MLFLOW_BACKEND_STORE_URI is not set" in missing.stderr

    port, log_path = free_port(), tmp_path / "mlflow.log"
    env |= {
        "MLFLOW_BACKEND_STORE_URI": new_database(),
        "MLFLOW_AUTH_DATABASE_URI": new_database(),
        "MLFLOW_AUTH_ADMIN_PASSWORD": PASSWORD,
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "a-generated-flask-secret",
        "MLFLOW_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(port),
        "MLFLOW_ALLOWED_HOSTS": f"127.0.0.1:{port}",
    }
    with log_path.open("w") as log:
        server = subprocess.Popen(["sh", str(SCRIPT)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    search = f"{url}/api/2.0/mlflow/experiments/search?max_results=5"
    try:
        wait_for(f"{url}/health", 180, log_path.read_text)
        assert httpx.get(search, timeout=10).status_code == 401
        assert httpx.get(search, auth=("admin", "not-the-password"), timeout=10).status_code == 401
        assert httpx.get(search, auth=("admin", PASSWORD), timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
