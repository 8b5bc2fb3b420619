"""Orchestration overhead: the train DAG's wall time against the sum of its steps run
directly with the CLI, on the same data, in the same run.

    python benchmarks/orchestration.py [--before REF] [--rounds 2]

Builds 120 days of demo data once, copies it into two fresh homes, then in one trains by
running each step's `conveyor` command in turn (the sum of their wall times), and in the
other runs `<model>__train` with `dag.test` (every task the same command as a subprocess).
Both start without a champion, so both do the same work: a first deploy. Each round does
both on fresh copies; the fastest of each counts.

Two figures for the DAG: the ``dag.test`` process's wall time (what `make demo` pays per
run), and the run's own (from ``dag.test``'s call to the process's end), which leaves out
what the process sets up once and a running Airflow has already: Python, Airflow, parsing
the DAG folder and building the execution API. A running scheduler adds its own latency
between tasks, which ``dag.test`` does not have. The extra seconds (the process's wall
time minus the sum of the steps) are split by the task instances' start and end times:
the process's set-up, the run before the first task (syncing the DAG to the database,
creating the run), the tasks' window beyond the steps' own seconds (in the step
tasks: the task runner and its process; between and in other tasks: Airflow's loop and
the in-process tasks), and after the last task. Each step's start-up (its import path,
``benchmarks/startup.py``) is measured beside them. ``--before REF`` runs the same on a
``git worktree`` of REF (its code, DAGs and plugins) on the same data, in the same run.
Results go to ``benchmarks/results/orchestration.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from pathlib import Path
from typing import Any

from measure import Figure, Run, Stopwatch, print_ratios, ratio
from startup import REPO, checkout, measure_all

from pipelines.local.airflow import airflow_environment, run_dag

AS_OF = "2024-04-30"
DAYS = 120
STEPS = ("apply_features", "build_datasets", "train_model", "evaluate_model", "gate_model",
         "register_model", "promote_model")  # fmt: skip


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


def steps_by_hand(home: Path) -> tuple[dict[str, float], dict[str, int]]:
    """Each step's seconds, and what they were fed: the days of data and the rows of the
    training and test sets that build_datasets built from them."""
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
    return seconds, {"days": DAYS, "training_rows": sets["train"]["rows"], "test_rows": sets["test"]["rows"]}


def fed_line(fed: dict[str, int]) -> str:
    return (
        f"fed: {fed['days']} days; training set {fed['training_rows']} rows, test set {fed['test_rows']} rows"
    )


@contextmanager
def code_of(root: Path) -> Iterator[None]:
    """Subprocesses run the code, DAGs and plugins of the checkout at ``root``: from there
    (``python -m`` puts the working directory first on the path), with it on PYTHONPATH."""
    saved = {
        name: os.environ.get(name) for name in ("PYTHONPATH", "CONVEYOR_DAGS_DIR", "CONVEYOR_PLUGINS_DIR")
    }
    os.environ.update(
        PYTHONPATH=str(root), CONVEYOR_DAGS_DIR=str(root / "dags"), CONVEYOR_PLUGINS_DIR=str(root / "plugins")
    )
    cwd = Path.cwd()
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(cwd)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def dag_run(home: Path) -> dict[str, Any]:
    """The train DAG on ``home``: its wall seconds, and its extra seconds over the by-hand steps
    split by the task instances' start and end times (``split_extra``)."""
    env = airflow_environment(home, home / "airflow")  # set-up not counted
    began = time.time()
    with Stopwatch() as watch:
        outcome = run_dag(env, "freight_volume__train", AS_OF, {"reason": "benchmark"})
    ended = time.time()
    if outcome["state"] not in ("DagRunState.SUCCESS", "success"):
        raise SystemExit(f"the DAG run did not succeed: {outcome}")
    spans = {
        task: [datetime.fromisoformat(t).timestamp() for t in span] for task, span in outcome["spans"].items()
    }
    test_began = outcome.get("test_began")  # None from a local_run older than this field
    return {
        "seconds": watch.seconds,
        "began": began,
        "test_began": datetime.fromisoformat(test_began).timestamp() if test_began else None,
        "ended": ended,
        "spans": spans,
    }


def split_extra(dag: dict[str, Any], steps: dict[str, float]) -> dict[str, float]:
    """The DAG's wall seconds minus the steps' sum, in parts that add up to it."""
    spans = dag["spans"]
    first, last = min(s for s, _ in spans.values()), max(e for _, e in spans.values())
    in_step_tasks = sum(spans[step][1] - spans[step][0] for step in steps if step in spans)
    began, test_began = dag["began"], dag["test_began"] or dag["began"]  # an older local_run: all in dag.test
    parts = {
        "process_set_up": test_began - began,
        "run_before_first_task": first - test_began,
        "step_tasks_beyond_steps": in_step_tasks - sum(steps.values()),
        "between_and_other_tasks": (last - first) - in_step_tasks,
        "after_last_task": dag["ended"] - last,
    }
    # perf_counter and the wall clock differ by microseconds; the remainder is named.
    parts["unaccounted"] = dag["seconds"] - sum(steps.values()) - sum(parts.values())
    return {name: round(seconds, 2) for name, seconds in parts.items()}


def measure(roots: dict[str, Path], lakehouse: Path, root: Path, rounds: int) -> dict[str, dict[str, Any]]:
    """Per round, steps by hand on each checkout, then the DAG on each in the opposite order,
    each on a fresh copy of the data; keeps each checkout's fastest steps (by their sum) and
    fastest DAG run."""
    results: dict[str, dict[str, Any]] = {label: {} for label in roots}
    for number in range(1, rounds + 1):
        for label, code in roots.items():
            home = root / f"{label}-{number}" / "by-hand"
            shutil.copytree(lakehouse, home / "lakehouse")
            with code_of(code):
                steps, results[label]["fed"] = steps_by_hand(home)
            if sum(steps.values()) < sum(results[label].get("steps", {"none": float("inf")}).values()):
                results[label]["steps"] = steps
            print(f"  round {number} {label}: steps by hand {sum(steps.values()):.1f} s", flush=True)
        for label, code in reversed(roots.items()):
            home = root / f"{label}-{number}" / "by-airflow"
            shutil.copytree(lakehouse, home / "lakehouse")
            with code_of(code):
                dag = dag_run(home)
            if dag["seconds"] < results[label].get("dag", {"seconds": float("inf")})["seconds"]:
                results[label]["dag"] = dag
            print(f"  round {number} {label}: train DAG {dag['seconds']:.1f} s", flush=True)
    return results


def summary(result: dict[str, Any], imports: dict[str, Any]) -> dict[str, Any]:
    steps, dag = result["steps"], result["dag"]
    total, run_began = sum(steps.values()), dag["test_began"] or dag["began"]
    return {
        "fed": result["fed"],
        "steps_seconds": {k: round(v, 2) for k, v in steps.items()},
        "sum_of_steps_seconds": round(total, 2),
        "dag_seconds": round(dag["seconds"], 2),
        "overhead_ratio": ratio(dag["seconds"], total),
        "run_seconds": round(dag["ended"] - run_began, 2),
        "run_overhead_ratio": ratio(dag["ended"] - run_began, total),
        "extra_seconds": round(dag["seconds"] - total, 2),
        "extra_split": split_extra(dag, steps),
        "task_seconds": {task: round(end - start, 2) for task, (start, end) in dag["spans"].items()},
        "step_imports": {
            step: {"import_seconds": r["import_seconds"], "top": r["top"]} for step, r in imports.items()
        },
    }


def report(label: str, document: dict[str, Any]) -> None:
    split = ", ".join(f"{part} {seconds}" for part, seconds in document["extra_split"].items())
    print(f"\n{label}: train DAG {document['dag_seconds']} s (the run {document['run_seconds']} s),"
          f" steps {document['sum_of_steps_seconds']} s,"
          f" extra {document['extra_seconds']} s: {split}")  # fmt: skip
    print(fed_line(document["fed"]))
    print(f"{'step':<18}{'by hand s':>10}{'in DAG s':>10}{'imports s':>11}")
    for step, seconds in document["steps_seconds"].items():
        task = document["task_seconds"].get(step, float("nan"))
        imports = document["step_imports"].get(step, {}).get("import_seconds", float("nan"))
        print(f"{step:<18}{seconds:>10.2f}{task:>10.2f}{imports:>11.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git ref to measure in the same run (a worktree of it)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of each; the fastest counts")
    args = parser.parse_args()
    run = Run("orchestration", code=True)
    run.warn_if_busy()
    with (
        tempfile.TemporaryDirectory() as scratch,
        checkout(args.before) if args.before else nullcontext() as before,
    ):
        root = Path(scratch)
        lakehouse = prepare(root)
        roots = {"after": REPO} | ({"before": before} if before else {})
        imports = measure_all(roots, list(STEPS), rounds=1)
        results = measure(roots, lakehouse, root, args.rounds)
    documents = {label: summary(results[label], imports[label]) for label in roots}
    for label, document in documents.items():
        report(label, document)
    after = documents["after"]
    steps_sum = after["sum_of_steps_seconds"]
    figures = [Figure("train DAG s (dag.test process)", after["dag_seconds"], steps_sum),
               Figure("train DAG s (the run)", after["run_seconds"], steps_sum)]  # fmt: skip
    print_ratios(figures, "train DAG", "steps by hand")
    if args.before:
        before_doc = documents["before"]
        print_ratios(
            [Figure("train DAG s", after["dag_seconds"], before_doc["dag_seconds"]),
             Figure("steps by hand s", after["sum_of_steps_seconds"], before_doc["sum_of_steps_seconds"]),
             Figure("DAG extra s", after["extra_seconds"], before_doc["extra_seconds"])],
            "after", f"before ({args.before})",
        )  # fmt: skip
    document: dict[str, Any] = {"rounds": args.rounds, **after}
    if args.before:
        document["before"] = {"ref": args.before, **documents["before"]}
    run.write(document)


if __name__ == "__main__":
    main()
