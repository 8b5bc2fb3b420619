"""Static checks of the container set-up: no Docker engine runs here, so the files are
checked for what they name, and the commands they run are run by the rest of the suite."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.main import get_command

from pipelines.cli import app

REPO = Path(__file__).resolve().parents[2]


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_every_service_builds_from_a_dockerfile_that_exists():
    for name, service in compose()["services"].items():
        dockerfile = REPO / service["build"]["context"] / service["build"]["dockerfile"]
        assert dockerfile.is_file(), f"service {name}: {dockerfile} does not exist"


def test_every_named_volume_is_declared():
    declared = set(compose().get("volumes") or {})
    for name, service in compose()["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"service {name} mounts undeclared volume {source}"


def test_every_service_command_is_a_conveyor_command():
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for name, service in compose()["services"].items():
        assert service["command"][0] in commands, f"service {name} runs an unknown command"


def test_task_image_installs_from_the_lock_file_and_runs_unprivileged():
    dockerfile = (REPO / "docker" / "task.Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11\.\d+-slim-\w+$", dockerfile, re.M), "pin the base image"
    assert "pip install --no-cache-dir -r requirements.lock" in dockerfile
    assert re.search(r"^USER conveyor$", dockerfile, re.M)
    for copied in re.findall(r"^COPY (.+) \./", dockerfile, re.M):
        for path in copied.split():
            assert (REPO / path).exists(), f"COPY {path}: not in the repository"
