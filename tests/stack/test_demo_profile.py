"""The compose file's `demo` profile: `make demo`'s story inside the task image (embedded
Airflow, MLflow and Feast defaults), on a volume of its own, as the README tells a user
with nothing but Docker to run it."""

from __future__ import annotations

import subprocess
import sys

from tests.stack.conftest import REPO


def test_the_demo_profile_tells_the_demos_story_in_the_task_image(task_image, tmp_path):
    env_file = tmp_path / ".env"
    subprocess.run([sys.executable, REPO / "scripts/make_secrets.py", "--env-file", env_file], check=True)
    # A project of its own: the stack test's `conveyor` project may be up beside it.
    compose = [
        "docker-compose",
        "--env-file",
        str(env_file),
        "-p",
        "conveyor-demo",
        "-f",
        "docker-compose.yml",
    ]
    try:
        demo = subprocess.run(
            [*compose, "--profile", "demo", "run", "--rm", "demo"],
            cwd=REPO, capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        printed = demo.stdout
        assert demo.returncode == 0, printed[-4000:] + demo.stderr[-4000:]
        assert "a corrupted batch arrived and was rejected" in printed
        assert "freight_volume__train 2024-04-30: success" in printed
        assert "freight_volume__monitor 2024-05-12: success" in printed
        assert "freight_volume__train 2024-05-12: success" in printed
        assert "Model: freight_volume version" in printed
        assert "/var/lib/conveyor/reports/freight_volume/drift-2024-05-12.html" in printed
    finally:
        subprocess.run([*compose, "--profile", "demo", "down", "--volumes"], cwd=REPO, capture_output=True)
