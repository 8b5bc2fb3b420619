"""What a container costs a task: the train DAG with every step in a container of the task
image (``CONVEYOR_EXECUTION=docker``, as the stack runs it) against the same DAG with every
step a subprocess (``local``, as on a laptop), on the same data, in the same run.

    python benchmarks/containers.py     (make bench; needs a Docker engine: make system)

Builds the task image from this checkout (cached after the first time) and 120 days of demo
data once; the local run gets a copy in a fresh home, the docker run a copy on a fresh named
volume that its containers mount. Both run `<model>__train` with `dag.test` on the embedded
defaults (SQLite MLflow on the home or volume): two rounds in alternating order, best of
each (the first round is a first deploy, the second a retrain against it, alike in both
modes). Results go to ``benchmarks/results/containers.json``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from measure import Figure, Run, Stopwatch, alternating, print_ratios, ratio
from orchestration import AS_OF, DAYS, prepare

from pipelines.local.airflow import airflow_environment, run_dag

REPO = Path(__file__).resolve().parents[1]
IMAGE = "conveyor/task:latest"
ROUNDS = 2
ROUND_DATES = (AS_OF, "2024-04-29")  # a run a day: the second round trains as of the day before
# The DAG's tasks that run a step (a container in docker mode); the rest are Airflow's own.
STEPS = ("apply_features", "build_datasets", "train_model", "evaluate_model", "gate_model",
         "register_model", "promote_model")  # fmt: skip


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout


def timed_dag(env: dict[str, str], logical_date: str) -> float:
    with Stopwatch() as dag:
        outcome = run_dag(env, "freight_volume__train", logical_date, {"reason": "benchmark"})
    if not str(outcome["state"]).endswith("success"):
        raise SystemExit(f"the DAG run did not succeed: {outcome}")
    return dag.seconds


def main() -> None:
    run = Run("containers", code=True)
    subprocess.run([REPO / "scripts/build_images.sh", "task"], check=True)
    volume = f"conveyor-bench-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        lakehouse = prepare(root)
        local = root / "local"
        shutil.copytree(lakehouse, local / "lakehouse")
        docker("volume", "create", volume)
        try:
            docker("run", "--rm", "-v", f"{volume}:/var/lib/conveyor", "-v", f"{lakehouse}:/prepared:ro",
                   "--entrypoint", "cp", IMAGE, "-r", "/prepared", "/var/lib/conveyor/lakehouse")  # fmt: skip
            in_docker = root / "docker"  # only Airflow's own state: the steps' is on the volume
            modes = {
                "local": airflow_environment(local, local / "airflow"),
                "docker": airflow_environment(in_docker, in_docker / "airflow")
                | {
                    "CONVEYOR_EXECUTION": "docker",
                    "CONVEYOR_TASK_IMAGE": IMAGE,
                    "CONVEYOR_DOCKER_URL": "unix:///var/run/docker.sock",
                    "CONVEYOR_DOCKER_NETWORK": "none",
                    "CONVEYOR_STATE_VOLUME": volume,
                    "CONVEYOR_ENV": "local",
                },
            }
            # Two rounds, local-docker then docker-local, best of each: the machine's drift in
            # load weighs on both. The second round retrains against the first's champion.
            seconds: dict[str, list[float]] = {"local": [], "docker": []}
            for number, order in alternating(list(modes), ROUNDS):
                for mode in order:
                    seconds[mode].append(timed_dag(modes[mode], ROUND_DATES[number]))
            local_seconds, docker_seconds = min(seconds["local"]), min(seconds["docker"])
        finally:
            subprocess.run(["docker", "volume", "rm", "-f", volume], capture_output=True)
    tasks = len(STEPS)  # (6 containers when the gate keeps the champion: promote is skipped)
    per_task = (docker_seconds - local_seconds) / tasks
    print(json.dumps(seconds, indent=2))
    print_ratios([Figure("train DAG seconds", docker_seconds, local_seconds)], "docker", "local")
    print(f"a container adds {per_task:.1f} s per step ({tasks} steps)")
    run.write(
        {
            "days": DAYS,
            "steps": tasks,
            "rounds": ROUNDS,
            "local_seconds_each": [round(v, 2) for v in seconds["local"]],
            "docker_seconds_each": [round(v, 2) for v in seconds["docker"]],
            "local_seconds": round(local_seconds, 2),
            "docker_seconds": round(docker_seconds, 2),
            "docker_over_local": ratio(docker_seconds, local_seconds),
            "added_seconds_per_step": round(per_task, 2),
        }
    )


if __name__ == "__main__":
    main()
