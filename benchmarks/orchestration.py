"""Orchestration overhead: the train DAG's wall time against the sum of its steps run
directly with the CLI, on the same data, in the same run.

    python benchmarks/orchestration.py

Builds 120 days of demo data once, copies it into two fresh homes, then in one trains by
running each step's `conveyor` command in turn (the sum of their wall times), and in the
other runs `<model>__train` with `dag.test` (every task the same command as a subprocess).
Both start without a champion, so both do the same work: a first deploy. Results go to
``benchmarks/results/orchestration.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from measure import Figure, Run, Stopwatch, print_ratios, ratio

from pipelines.local.airflow import airflow_environment, run_dag

AS_OF = "2024-04-30"
DAYS = 120


def prepare(root: Path) -> Path:
    """A lakehouse with the demo's 120 days, built in this process."""
    home = root / "prepared"
    os.environ["CONVEYOR_HOME"] = str(home)
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.local.backfill import process_landed_days
    from pipelines.samples.generate import generate_batches

    platform, config = load_platform_config(), load_model_config("freight_volume")
    days = generate_batches(platform, config, start=date(2024, 1, 1), days=DAYS)
    process_landed_days(platform, config, Lakehouse(platform.lakehouse_uri), days)
    return home / "lakehouse"


def conveyor(home: Path, *args: str) -> tuple[float, str]:
    with Stopwatch() as watch:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines", *args], env={**os.environ, "CONVEYOR_HOME": str(home)},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    return watch.seconds, done.stdout.strip().splitlines()[-1]


def steps_by_hand(home: Path) -> dict[str, float]:
    model = ["-m", "freight_volume"]
    seconds: dict[str, float] = {}
    seconds["apply_features"], _ = conveyor(home, "features", "apply", *model)
    seconds["build_datasets"], out = conveyor(home, "datasets", "build", *model, "-d", AS_OF, "--json")
    sets = json.loads(out)
    seconds["train_model"], out = conveyor(
        home, "train", *model, "-d", AS_OF, "--train-dataset", sets["train"]["uri"],
        "--test-dataset", sets["test"]["uri"], "--json",
    )  # fmt: skip
    run_id = json.loads(out)["run_id"]
    seconds["evaluate_model"], _ = conveyor(home, "evaluate", *model, "--run-id", run_id)
    seconds["gate_model"], _ = conveyor(home, "gate", *model, "--run-id", run_id)
    seconds["register_model"], out = conveyor(home, "register", *model, "--run-id", run_id, "--json")
    seconds["promote_model"], _ = conveyor(home, "promote", *model, "--version", json.loads(out)["version"])
    return seconds


def main() -> None:
    run = Run("orchestration")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        lakehouse = prepare(root)
        by_hand, by_airflow = root / "by-hand", root / "by-airflow"
        for home in (by_hand, by_airflow):
            shutil.copytree(lakehouse, home / "lakehouse")

        steps = steps_by_hand(by_hand)
        env = airflow_environment(by_airflow, by_airflow / "airflow")  # set-up not counted
        with Stopwatch() as dag:
            outcome = run_dag(env, "freight_volume__train", AS_OF, {"reason": "benchmark"})
    if outcome["state"] != "DagRunState.SUCCESS" and outcome["state"] != "success":
        raise SystemExit(f"the DAG run did not succeed: {outcome}")
    total = sum(steps.values())
    print(json.dumps({step: round(seconds, 2) for step, seconds in steps.items()}, indent=2))
    print_ratios([Figure("seconds", dag.seconds, total)], "train DAG", "steps by hand")
    run.write(
        {
            "days": DAYS,
            "steps_seconds": {k: round(v, 2) for k, v in steps.items()},
            "sum_of_steps_seconds": round(total, 2),
            "dag_seconds": round(dag.seconds, 2),
            "overhead_ratio": ratio(dag.seconds, total),
        }
    )


if __name__ == "__main__":
    main()
