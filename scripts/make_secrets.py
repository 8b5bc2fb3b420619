"""`make secrets`: write `.env` with every secret the compose stack needs, freshly generated.

Nothing in the repository holds a password or key; docker-compose.yml refuses to start
while any of these is missing. An existing `.env` is kept (rotating secrets of a running
stack needs more than a new file), with any secret it lacks added (a newer stack may need
more); pass --force to replace it.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet

PASSWORDS = (
    "POSTGRES_PASSWORD",  # PostgreSQL's superuser: only the init job uses it
    "AIRFLOW_DB_PASSWORD",
    "MLFLOW_DB_PASSWORD",
    "FEAST_DB_PASSWORD",
    "SERVING_DB_PASSWORD",
    "REDIS_PASSWORD",
    "AIRFLOW_BROKER_PASSWORD",  # Celery's Redis broker
    "AIRFLOW_ADMIN_PASSWORD",  # the Airflow UI's `admin`
    "AIRFLOW_API_SECRET_KEY",  # signs the API's tokens
    "MLFLOW_ADMIN_PASSWORD",  # the MLflow server's `admin`; also what tasks log in with
    "MLFLOW_FLASK_SERVER_SECRET_KEY",
    "CONVEYOR_SERVING_TOKEN",  # bearer token for POST /predict (and Prometheus's scrapes)
    "CONVEYOR_ALERT_RECEIVER_TOKEN",  # Alertmanager's and Prometheus's token for /conveyor-alerts
)
# Secrets that containers read as files (compose `secrets:`, mounted at /run/secrets/<name>):
# Prometheus's and Alertmanager's configs name credentials files, not variables.
SECRET_FILES = {
    "alert_receiver_token": "CONVEYOR_ALERT_RECEIVER_TOKEN",
    "serving_api_token": "CONVEYOR_SERVING_TOKEN",
}
SECRETS_DIR = "CONVEYOR_SECRETS_DIR"
SECRETS = ("AIRFLOW_FERNET_KEY", *PASSWORDS)


def generate() -> dict[str, str]:
    values = {name: secrets.token_urlsafe(32) for name in PASSWORDS}
    values["AIRFLOW_FERNET_KEY"] = Fernet.generate_key().decode()
    return values


def write_env(path: Path, values: dict[str, str]) -> None:
    lines = [
        f"# Written by `make secrets` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Never commit this file.",
        *(f"{name}={values[name]}" for name in SECRETS),
    ]
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, default=Path(".env"))
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    args = parser.parse_args(argv)
    update_env(args.env_file, args.force)
    print(f"secret files in {write_secret_files(args.env_file)}")
    return 0


def update_env(env_file: Path, force: bool) -> None:
    """Write the env file, or add to an existing one the secrets it lacks (``force``: replace it)."""
    if env_file.exists() and not force:
        kept = env_file.read_text()
        names = {line.split("=", 1)[0] for line in kept.splitlines() if "=" in line}
        missing = [name for name in SECRETS if name not in names]
        if missing:  # a newer stack needs more: add those, keep the rest
            fresh = generate()
            added = "".join(f"{name}={fresh[name]}\n" for name in missing)
            env_file.write_text(kept + ("" if kept.endswith("\n") else "\n") + added)
            print(f"{env_file} exists; added the secrets it lacked: {', '.join(missing)}")
        else:
            print(f"{env_file} exists; keeping it (make secrets FORCE=1 replaces it)")
        return
    write_env(env_file, generate())
    print(f"wrote {len(SECRETS)} secrets to {env_file} (mode 600)")


def write_secret_files(env_file: Path) -> Path:
    """The file secrets, from the env file's values, in ``.secrets/`` beside it; the env file
    names that folder (``CONVEYOR_SECRETS_DIR``, read by docker-compose.yml)."""
    text = env_file.read_text()
    values = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    folder = (env_file.parent / ".secrets").resolve()
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)  # only the owner reaches the files; a container user reads its mounted copy
    for name, variable in SECRET_FILES.items():
        (folder / name).write_text(values[variable])
        (folder / name).chmod(0o644)
    if values.get(SECRETS_DIR) != str(folder):
        kept = [line for line in text.splitlines() if not line.startswith(f"{SECRETS_DIR}=")]
        env_file.write_text("\n".join([*kept, f"{SECRETS_DIR}={folder}"]) + "\n")
    return folder


if __name__ == "__main__":
    sys.exit(main())
