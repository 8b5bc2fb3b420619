"""The MLflow server exactly as the compose stack starts it (docker/mlflow-server.sh), on
the real PostgreSQL: it refuses to start without its secrets, and with them it answers
only requests that log in."""

from __future__ import annotations

import subprocess

import httpx

from tests.support import MlflowServer


def test_the_tracking_server_needs_its_secrets_and_a_login(new_database, tmp_path):
    server = MlflowServer(new_database(), new_database(), tmp_path)
    bare = {k: v for k, v in server.env.items() if not k.startswith("MLFLOW_")}
    missing = subprocess.run(["sh", str(server.SCRIPT)], env=bare, capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "MLFLOW_BACKEND_STORE_URI is not set" in missing.stderr

    server.start()
    search = f"{server.url}/api/2.0/mlflow/experiments/search?max_results=5"
    try:
        assert httpx.get(search, timeout=10).status_code == 401
        assert httpx.get(search, auth=("admin", "not-the-password"), timeout=10).status_code == 401
        assert httpx.get(search, auth=("admin", server.PASSWORD), timeout=10).status_code == 200
    finally:
        server.stop()
