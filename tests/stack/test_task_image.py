"""Every step runs in the task image exactly as on a laptop: the same `conveyor` command,
its exit codes, and a model trained in a container that names the commit the image was
built from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.stack.conftest import REPO, docker

STATE = "/var/lib/conveyor"


def conveyor(image: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`conveyor <args>` in a container of ``image``, its state folder on ``home``."""
    return docker("run", "--rm", "--network", "none", "-v", f"{home}:{STATE}", image, *args, check=False)


def test_bad_input_in_a_container_exits_with_its_code_and_says_the_fix(task_image, tmp_path):
    tmp_path.chmod(0o777)
    done = conveyor(task_image, tmp_path, "ingest", "-m", "nope", "-d", "2024-01-01")
    assert done.returncode == 2, done.stderr
    assert "error: no model called 'nope'" in done.stderr


def test_a_model_trained_in_containers_names_the_commit_its_image_was_built_from(
    task_image, prepared_lakehouse, tmp_path
):
    home = tmp_path / "state"
    shutil.copytree(prepared_lakehouse, home / "lakehouse")
    for folder, _, files in os.walk(home):  # the image's user (uid 10001) writes here
        Path(folder).chmod(0o777)
        for name in files:
            (Path(folder) / name).chmod(0o666)
    home.chmod(0o777)
    model, day = ("-m", "freight_volume"), ("-d", "2024-04-30")

    def step(*args: str) -> dict:
        done = conveyor(task_image, home, *args, "--json")
        assert done.returncode == 0, f"conveyor {' '.join(args)}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert conveyor(task_image, home, "features", "apply", *model).returncode == 0
    datasets = step("datasets", "build", *model, *day)
    run = step("train", *model, *day, "--train-dataset", datasets["train"]["uri"],
               "--test-dataset", datasets["test"]["uri"], "--reason", "stack test")["run_id"]  # fmt: skip
    step("evaluate", *model, "--run-id", run)
    assert step("gate", *model, "--run-id", run)["promote"] is True
    version = step("register", *model, "--run-id", run)["version"]
    assert conveyor(task_image, home, "promote", *model, "--version", version).returncode == 0

    lineage = step("lineage", "freight_volume@champion")["lineage"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    assert lineage["git_commit"] == head, "the version names the commit the image was built from"
    assert lineage["trigger_reason"] == "stack test"
    revision = '{{index .Config.Labels "org.opencontainers.image.revision"}}'
    assert docker("image", "inspect", "--format", revision, task_image).stdout.strip() == head
