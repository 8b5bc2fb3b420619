"""The compose file's `demo` profile: `make demo`'s story inside the task image (embedded
Airflow, MLflow and Feast defaults), on a volume of its own, as the README tells a user
with nothing but Docker to run it."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.stack.conftest import REPO


# The same story as tests/integration/test_demo.py, in the image: ~5 minutes of CPU that
# `make test`'s budget leaves to `make test-extended`.
@pytest.mark.extended
def test_the_demo_profile_tells_the_demos_story_in_the_task_image(task_image, tmp_path):
    # The demo service exactly as docker-compose.yml declares it, in a file of its own: the
    # stack test's project may be up beside this one, and the full file's named network and
    # state volume are the stack's (a second project must neither claim nor remove them).
    declared = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    demo = {key: value for key, value in declared["services"]["demo"].items() if key != "build"}
    assert demo["profiles"] == ["demo"] and demo["image"] == task_image
    volumes = {volume.split(":")[0]: declared["volumes"][volume.split(":")[0]] for volume in demo["volumes"]}
    assert "conveyor-state" not in volumes, "the demo never writes into the stack's state"
    demo_file = tmp_path / "docker-compose.yml"
    demo_file.write_text(yaml.safe_dump({"services": {"demo": demo}, "volumes": volumes}))
    compose = ["docker-compose", "-p", "conveyor-demo", "-f", str(demo_file), "--profile", "demo"]
    subprocess.run([*compose, "down", "--volumes"], capture_output=True)  # a fresh home, as a new user's
    try:
        done = subprocess.run([*compose, "run", "--rm", "demo"], capture_output=True, text=True, timeout=1500)
        printed = done.stdout
        assert done.returncode == 0, printed[-4000:] + done.stderr[-4000:]
        assert "a corrupted batch arrived and was rejected" in printed
        assert "freight_volume__train 2024-04-30: success" in printed
        assert "freight_volume__monitor 2024-05-12: success" in printed
        assert "freight_volume__train 2024-05-12: success" in printed
        assert "Model: freight_volume version" in printed
        assert "/var/lib/conveyor/reports/freight_volume/drift-2024-05-12.html" in printed
    finally:
        subprocess.run([*compose, "down", "--volumes"], capture_output=True)
