"""Tuning overhead: a study of N trials through Airflow (the train DAG's tuning stage, each
trial a mapped task instance in a process of its own) against the same trials in one
process, on the same data, in the same run.

    python benchmarks/tuning.py [--trials 6]

Builds 120 days of demo data once, builds the training set, then runs the study in this
process (``tune_in_process``: slot after slot) and through ``<model>__train`` with the form's
tune switch on (``dag.test``: instances one after another, so the difference is what
Airflow and a process a trial cost, not parallelism). Both score the config's own
parameters on the same data alike (checked); their best trials may differ, as TPE and the
median pruner depend on the order trials finish in. Results go to
``benchmarks/results/tuning.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import yaml
from measure import Figure, Run, Stopwatch, print_ratios, ratio
from orchestration import AS_OF, prepare

from pipelines.config.load import REPO_ROOT
from pipelines.local.airflow import airflow_environment, run_dag

STAGE = ("create_study", "finish_tuning")  # the tuning stage, first task to last


def configs_with(trials: int, folder: Path) -> Path:
    shutil.copytree(REPO_ROOT / "configs", folder)
    model_file = folder / "models" / "freight_volume.yaml"
    raw = yaml.safe_load(model_file.read_text())
    raw["tuning"].update(trials=trials, enabled=True)
    model_file.write_text(yaml.safe_dump(raw))
    return folder


def in_one_process(home: Path) -> tuple[float, dict]:
    os.environ["CONVEYOR_HOME"] = str(home)
    from datetime import date

    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.features.datasets import build_datasets
    from pipelines.features.store import apply_features, feature_store
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.training.tracking import mlflow_client
    from pipelines.training.tune import tune_in_process

    platform, config = load_platform_config(), load_model_config("freight_volume")
    lakehouse, store, client = (
        Lakehouse(platform.lakehouse_uri),
        feature_store(platform),
        mlflow_client(platform),
    )
    apply_features(store, config, lakehouse)
    train, _ = build_datasets(lakehouse, store, config, date.fromisoformat(AS_OF))
    with Stopwatch() as watch:
        result = tune_in_process(platform, config, client, train_uri=train.uri, run_name="benchmark")
    return watch.seconds, result


def tuning_in_lineage(home: Path) -> dict:
    """The tuning result the DAG's version recorded in its lineage."""
    import json

    from pipelines.config.load import load_platform_config
    from pipelines.release.registry import read_lineage
    from pipelines.training.tracking import mlflow_client

    os.environ["CONVEYOR_HOME"] = str(home)
    client = mlflow_client(load_platform_config())
    return json.loads(read_lineage(client, "freight_volume@1")["lineage"]["tuning"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args()
    run = Run("tuning")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        os.environ["CONVEYOR_CONFIG_DIR"] = str(configs_with(args.trials, root / "configs"))
        lakehouse = prepare(root)
        by_process, by_airflow = root / "in-process", root / "by-airflow"
        for home in (by_process, by_airflow):
            shutil.copytree(lakehouse, home / "lakehouse")
        process_seconds, in_process = in_one_process(by_process)
        env = airflow_environment(by_airflow, by_airflow / "airflow")  # set-up not counted
        outcome = run_dag(env, "freight_volume__train", AS_OF, {"reason": "benchmark", "tune": True})
        if outcome["state"] not in ("success", "DagRunState.SUCCESS"):
            raise SystemExit(f"the DAG run did not succeed: {outcome}")
        through_airflow = tuning_in_lineage(by_airflow)
    if through_airflow["baseline_value"] != in_process["baseline_value"]:
        raise SystemExit(
            f"the two trained the reference on different data: {through_airflow} vs {in_process}"
        )
    first, last = (outcome["spans"][task] for task in STAGE)
    airflow_seconds = (datetime.fromisoformat(last[1]) - datetime.fromisoformat(first[0])).total_seconds()
    print_ratios([Figure(f"{args.trials} trials: seconds", airflow_seconds, process_seconds)],
                 "through Airflow", "one process")  # fmt: skip
    run.write(
        {
            "trials": args.trials,
            "slots": args.trials + 1,
            "in_process_seconds": round(process_seconds, 2),
            "airflow_seconds": round(airflow_seconds, 2),
            "overhead_ratio": ratio(airflow_seconds, process_seconds),
            "per_slot_overhead_seconds": round((airflow_seconds - process_seconds) / (args.trials + 1), 2),
            "in_process": {k: in_process[k] for k in ("params", "best_value", "baseline_value", "trials")},
            "through_airflow": {
                k: through_airflow[k] for k in ("params", "best_value", "baseline_value", "trials")
            },
        }
    )


if __name__ == "__main__":
    main()
