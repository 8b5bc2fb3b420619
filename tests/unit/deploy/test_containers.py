"""Checks of the container set-up without a Docker engine (none runs here): compose itself
(Debian's docker-compose, installed by `make system`) parses the file and refuses to start
without the secrets; the files are checked for what they name, the Dockerfiles are
linted, and the commands the containers run are commands the rest of the suite runs for
real (`conveyor ...` throughout, docker/mlflow-server.sh in test_mlflow_server.py,
docker/airflow-init.sh and docker/postgres-init.sh in test_stack_scripts.py)."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.main import get_command

from pipelines.cli import app

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "scripts"))
from make_secrets import SECRETS, SECRETS_DIR  # noqa: E402

COMPOSE_TEXT = (REPO / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
ENTRYPOINT_SCRIPTS = {"mlflow-server": "docker/mlflow-server.sh", "airflow-init": "docker/airflow-init.sh"}


def airflow_commands() -> set[str]:
    from airflow.cli.cli_parser import get_parser

    actions = get_parser()._actions
    return set(next(a for a in actions if isinstance(a, argparse._SubParsersAction)).choices)


def test_every_image_we_build_has_its_dockerfile_and_stage_and_every_other_is_pinned():
    for name, service in SERVICES.items():
        if "build" in service:
            dockerfile = (REPO / service["build"]["context"] / service["build"]["dockerfile"]).read_text()
            target = service["build"].get("target")
            assert target is None or re.search(rf"^FROM .+ AS {target}$", dockerfile, re.M), name
            assert service["image"].startswith("conveyor/"), f"{name}: our images are conveyor/*"
        else:
            assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+(\.\d+)?[\w.-]*", service["image"]), (
                f"{name}: pin the image"
            )


def test_every_named_volume_and_network_is_declared():
    for name, service in SERVICES.items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in COMPOSE["volumes"], f"service {name} mounts undeclared volume {source}"
            elif source.startswith("."):
                assert (REPO / source).exists(), f"service {name} mounts {source}, not in the repository"
        for network in service.get("networks", []):
            assert network in COMPOSE["networks"], f"service {name} joins undeclared network {network}"


def test_every_command_a_container_runs_exists():
    conveyor = set(get_command(app).commands)  # type: ignore[attr-defined]
    airflow = airflow_commands()
    for name, service in SERVICES.items():
        entrypoint, command = service.get("entrypoint"), service.get("command") or []
        if "tools" in service.get("profiles", []):
            continue  # its command comes with `docker compose run conveyor <command>`
        if entrypoint:
            assert (REPO / ENTRYPOINT_SCRIPTS[entrypoint[0]]).is_file(), name
        elif service.get("image", "").startswith("conveyor/airflow"):
            assert command[0] in airflow, f"{name}: `airflow {command[0]}` does not exist"
        elif service.get("image", "").startswith("conveyor/"):
            assert command[0] in conveyor, f"{name}: `conveyor {command[0]}` does not exist"
    dockerfiles = "\n".join(p.read_text() for p in (REPO / "docker").glob("*.Dockerfile"))
    for installed, script in ENTRYPOINT_SCRIPTS.items():
        pattern = rf"^COPY (--chown=\S+ )?{script} /usr/local/bin/{installed}$"
        assert re.search(pattern, dockerfiles, re.M), f"no image installs {script}"


def test_every_health_dependency_waits_on_a_health_check():
    dockerfiles = {p.name: p.read_text() for p in (REPO / "docker").glob("*.Dockerfile")}
    for name, service in SERVICES.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            if rule["condition"] == "service_healthy":
                target = SERVICES[dependency]
                own = "healthcheck" in target
                built = (
                    "build" in target
                    and "HEALTHCHECK" in dockerfiles[Path(target["build"]["dockerfile"]).name]
                )
                assert own or built, f"{name} waits for {dependency} to be healthy; it has no health check"


def test_compose_refuses_to_start_without_each_secret_and_needs_nothing_else():
    """Every variable compose reads is a secret `make secrets` writes, read as
    `${NAME:?message}`, which makes compose refuse to start while it is unset or empty; or a
    tuning knob with a default (`${NAME:-value}`), which is never a secret."""
    # ($${NAME} is the container's own variable, escaped from compose)
    references = re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)([^}]*)\}", COMPOSE_TEXT)
    assert references
    for name, rest in references:
        if rest.startswith(":-"):
            assert name not in SECRETS and not re.search("PASSWORD|SECRET|KEY|TOKEN", name), name
            continue
        assert name in {*SECRETS, SECRETS_DIR}, f"compose reads {name}, which `make secrets` does not write"
        assert rest.startswith(":?") and "make secrets" in rest, f"${{{name}}} must fail loudly when unset"
    secrets_read = {name for name, rest in references if not rest.startswith(":-")}
    assert secrets_read == {*SECRETS, SECRETS_DIR}, "every generated secret is used"
    assert not re.search(r"(?i)(password|secret|token)\w*:\s*[\"']?[\w-]{6,}[\"']?\s*$", COMPOSE_TEXT, re.M)


def compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """docker-compose on the repository's file with nothing of the caller's environment
    but PATH, and a Docker address where no engine answers."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is not installed: run `make system` (scripts/system_packages.sh)")
    env = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": f"unix://{env_file.parent}/no-engine.sock"}
    command = [binary, "-p", "conveyor", "-f", str(REPO / "docker-compose.yml"), "--env-file", str(env_file)]
    return subprocess.run([*command, *args], env=env, capture_output=True, text=True, timeout=60)


def test_compose_refuses_to_start_until_make_secrets_has_written_every_secret(tmp_path):
    secrets = tmp_path / ".env"
    subprocess.run([sys.executable, REPO / "scripts/make_secrets.py", "--env-file", secrets], check=True)
    written = secrets.read_text()

    # The generated file: compose accepts it and goes on to look for the Docker engine.
    assert compose(secrets, "config", "-q").returncode == 0
    up = compose(secrets, "up", "--no-start")
    assert up.returncode != 0 and "Error while fetching server API version" in up.stderr, up.stderr
    assert "is missing" not in up.stderr

    # No file, or a file without any one of the secrets: refused, naming it and the fix.
    secrets.write_text("")
    assert "is missing, run make secrets" in compose(secrets, "up", "--no-start").stderr
    for name in (*SECRETS, SECRETS_DIR):
        secrets.write_text(re.sub(rf"(?m)^{name}=.*\n", "", written))
        refused = compose(secrets, "up", "--no-start")
        assert refused.returncode != 0, f"compose started without {name}"
        assert f"{name} is missing, run make secrets" in refused.stderr, refused.stderr[-500:]
        assert "server API version" not in refused.stderr, "refused before reaching for Docker"


def test_only_the_socket_proxy_sees_the_docker_socket_and_only_read_only():
    for name, service in SERVICES.items():
        sockets = [m for m in service.get("volumes", []) if "docker.sock" in m]
        if name == "docker-socket-proxy":
            assert sockets == ["/var/run/docker.sock:/var/run/docker.sock:ro"]
            assert service["environment"]["EXEC"] == 0 and service["environment"]["BUILD"] == 0
        else:
            assert sockets == [], f"{name} must reach Docker through the proxy"


@pytest.mark.parametrize("dockerfile", sorted((REPO / "docker").glob("*.Dockerfile")), ids=lambda p: p.name)
def test_dockerfiles_pass_the_linter_install_from_the_lock_and_run_unprivileged(dockerfile):
    hadolint = Path(sys.executable).parent / "hadolint"
    linted = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True)
    assert linted.returncode == 0, linted.stdout
    text = dockerfile.read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-\w+", text, re.M), "pin the base image"
    assert "requirements.lock" in text
    assert re.search(r"^USER \d+$", text, re.M), "run as a numeric non-root user"
    for copied in re.findall(r"^COPY (?:--chown=\S+ )?(.+) \S+$", text, re.M):
        for path in copied.split():
            assert (REPO / path).exists(), f"COPY {path}: not in the repository"
    assert not re.search(r"(?i)^(ENV|ARG) \w*(PASSWORD|SECRET|TOKEN|KEY)\w*=", text, re.M), (
        "no baked-in secrets"
    )
