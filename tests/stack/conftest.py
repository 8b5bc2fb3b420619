"""The stack layer: Conveyor's images built from this checkout on a real Docker engine
(`make system` installs and starts one), and steps run in their containers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]


def docker(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def built(tmp_path_factory: pytest.TempPathFactory, image: str) -> str:
    """``conveyor/<image>:latest``, built from this checkout: one build at a time across xdist
    workers (a second build of the same code is all cache)."""
    if docker("info", check=False).returncode != 0:
        pytest.fail("no Docker engine answers: run `make system` (scripts/docker_engine.sh)")
    lock = tmp_path_factory.getbasetemp().parent / "images.lock"
    with FileLock(str(lock)):
        done = subprocess.run([REPO / "scripts/build_images.sh", image], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return f"conveyor/{image}:latest"


@pytest.fixture(scope="session")
def task_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    return built(tmp_path_factory, "task")


@pytest.fixture(scope="session")
def airflow_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    return built(tmp_path_factory, "airflow")
