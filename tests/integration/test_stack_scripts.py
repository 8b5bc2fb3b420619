"""The scripts the compose stack runs, run here for real: `make secrets`, PostgreSQL's
init script (against the machine's PostgreSQL), Airflow's init job (migrating a database
of its own there) and then the DAG processor, scheduler and triggerer on it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy
from cryptography.fernet import Fernet

from tests.conftest import POSTGRES_SERVER

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("airflow", "mlflow", "feast", "serving")


def test_make_secrets_writes_every_secret_once_privately(tmp_path):
    sys.path.insert(0, str(REPO / "scripts"))
    from make_secrets import SECRET_FILES, SECRETS, SECRETS_DIR

    env_file = tmp_path / ".env"
    run = [sys.executable, str(REPO / "scripts" / "make_secrets.py"), "--env-file", str(env_file)]
    subprocess.run(run, check=True, capture_output=True)
    values = dict(
        line.split("=", 1) for line in env_file.read_text().splitlines() if not line.startswith("#")
    )
    # The secrets Prometheus and Alertmanager read as files: beside .env, only its owner gets in.
    folder = Path(values.pop(SECRETS_DIR))
    assert folder == tmp_path / ".secrets" and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert {name: (folder / name).read_text() for name in SECRET_FILES} == {
        name: values[variable] for name, variable in SECRET_FILES.items()
    }
    assert set(values) == set(SECRETS) and len(set(values.values())) == len(SECRETS)
    assert all(len(v) >= 32 for v in values.values())
    Fernet(values["AIRFLOW_FERNET_KEY"].encode())  # a valid key
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    written = env_file.read_text()
    kept = subprocess.run(run, check=True, capture_output=True, text=True)
    assert "keeping it" in kept.stdout and env_file.read_text() == written
    # An .env from before a secret was added gets that secret, and keeps every other.
    env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items() if k != "AIRFLOW_BROKER_PASSWORD"))
    added = subprocess.run(run, check=True, capture_output=True, text=True)
    assert "added the secrets it lacked: AIRFLOW_BROKER_PASSWORD" in added.stdout
    topped_up = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert set(topped_up) == {*SECRETS, SECRETS_DIR} and all(
        topped_up[k] == values[k] for k in values if k != "AIRFLOW_BROKER_PASSWORD"
    )
    assert len(topped_up["AIRFLOW_BROKER_PASSWORD"]) >= 32
    subprocess.run([*run, "--force"], check=True, capture_output=True)
    assert dict(line.split("=", 1) for line in env_file.read_text().splitlines()[1:]) != values


def test_postgres_init_gives_each_service_its_own_owner_and_database():
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    env = {**os.environ, "CONVEYOR_DB_PREFIX": prefix, "PGHOST": "127.0.0.1", "PGPORT": "5432"}
    env |= {f"{s.upper()}_DB_PASSWORD": f"pw-{s}" for s in SERVICES}
    server = sqlalchemy.create_engine(f"{POSTGRES_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    try:
        done = subprocess.run(
            ["sh", str(REPO / "docker" / "postgres-init.sh")], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        with server.connect() as connection:
            owners = dict(connection.execute(sqlalchemy.text(
                "SELECT d.datname, r.rolname FROM pg_database d JOIN pg_roles r ON d.datdba = r.oid"
                " WHERE d.datname LIKE :prefix"), {"prefix": f"{prefix}%"}).fetchall())  # fmt: skip
        assert owners == {f"{prefix}{s}": f"{prefix}{s}" for s in SERVICES} | {
            f"{prefix}mlflow_auth": f"{prefix}mlflow"
        }
        del env["FEAST_DB_PASSWORD"]
        refused = subprocess.run(
            ["sh", str(REPO / "docker" / "postgres-init.sh")], env=env, capture_output=True, text=True
        )
        assert refused.returncode != 0
    finally:
        with server.connect() as connection:
            for database in (*SERVICES, "mlflow_auth"):
                connection.execute(
                    sqlalchemy.text(f'DROP DATABASE IF EXISTS "{prefix}{database}" WITH (FORCE)')
                )
            for role in SERVICES:
                connection.execute(sqlalchemy.text(f'DROP ROLE IF EXISTS "{prefix}{role}"'))
        server.dispose()


def test_airflow_init_prepares_the_database_and_the_airflow_services_run_on_it(new_database, tmp_path):
    passwords = tmp_path / "auth" / "passwords.json"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": new_database(),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
    }
    missing = subprocess.run(
        ["sh", str(REPO / "docker" / "airflow-init.sh")], env=env, capture_output=True, text=True
    )
    assert missing.returncode != 0 and "AIRFLOW_ADMIN_PASSWORD is not set" in missing.stderr
    env["AIRFLOW_ADMIN_PASSWORD"] = "a-generated-password"
    done = subprocess.run(
        ["sh", str(REPO / "docker" / "airflow-init.sh")], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(passwords.read_text()) == {"admin": "a-generated-password"}
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    pools = subprocess.run(
        ["airflow", "pools", "get", "gpu", "-o", "json"], env=env, capture_output=True, text=True
    )
    assert int(json.loads(pools.stdout)[0]["slots"]) == 1

    # The long-running services the stack starts next, on that database, for real: each
    # heartbeats, and the DAG processor serializes our DAGs into PostgreSQL.
    env |= {
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "PYTHONPATH": str(REPO / "plugins"),
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    services = {
        name: subprocess.Popen(
            ["airflow", name], env=env, stdout=(logs / name).open("w"), stderr=subprocess.STDOUT
        )
        for name in ("dag-processor", "scheduler", "triggerer")
    }
    database = sqlalchemy.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])

    def rows(sql: str) -> set[str]:
        with database.connect() as connection:
            return {row[0] for row in connection.execute(sqlalchemy.text(sql))}

    try:
        jobs = {"DagProcessorJob", "SchedulerJob", "TriggererJob"}
        alive = "SELECT job_type FROM job WHERE state = 'running'"
        assert until(lambda: jobs <= rows(alive), 120), f"running: {rows(alive)}; " + "".join(
            f.read_text()[-1500:] for f in logs.iterdir()
        )
        dags = {f"freight_volume__{kind}" for kind in ("ingest", "train", "monitor", "rollback")}
        assert until(lambda: dags <= rows("SELECT dag_id FROM serialized_dag"), 120)
    finally:
        for process in services.values():
            process.terminate()
        for process in services.values():
            process.wait(timeout=60)
        database.dispose()


def until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(1)
    return False
