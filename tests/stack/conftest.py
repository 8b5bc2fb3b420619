"""The stack layer: Conveyor's images built from this checkout on a real Docker engine
(`make system` installs and starts one), and steps run in their containers."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from filelock import FileLock

REPO = Path(__file__).resolve().parents[2]
TASK_IMAGE = "conveyor/task:latest"


def docker(*args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="session")
def task_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The task image, built once from this checkout (xdist workers wait for the first)."""
    if docker("info", check=False).returncode != 0:
        pytest.fail("no Docker engine answers: run `make system` (scripts/docker_engine.sh)")
    lock = tmp_path_factory.getbasetemp().parent / "task-image.lock"
    with FileLock(str(lock)):
        built = subprocess.run([REPO / "scripts/build_images.sh", "task"], capture_output=True, text=True)
        assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return TASK_IMAGE
