"""Orchestration overhead under a running Airflow: the train DAG triggered through the REST
API of a real Airflow (API server, scheduler with the LocalExecutor, DAG processor and
triggerer on a PostgreSQL database of its own: the browser tests' stack,
``tests/e2e/airflow_stack.py``) against the sum of its steps run by hand, on the same data,
in the same run.

    python benchmarks/scheduled.py [--rounds 2]

What a production run pays per run, less the containers: the scheduler's latency between
tasks, each task's own process (the supervisor, parsing the DAG file, the task runner) and
the executor. The stack starts and parses the DAGs before the clock; its DAG processor then
parses again only every 10 minutes, so that it does not compete with the run; the scheduler
beats every 2 s (the browser tests' setting). The run's seconds are Airflow's own (the run's
start and end dates); both sides start without a champion, so both do the same work (a
first deploy). The by-hand steps are timed over ``--rounds`` rounds on fresh copies, the
fastest counts; the DAG runs once. Results go to ``benchmarks/results/scheduled.json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from measure import Figure, Run, print_ratios, ratio
from orchestration import AS_OF, DAYS, STEPS, prepare, steps_by_hand

from pipelines.config.load import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))  # the browser tests' Airflow stack is the one measured
from tests.conftest import POSTGRES_SERVER
from tests.e2e.airflow_stack import AirflowStack
from tests.support import postgres_database

DAG_ID = "freight_volume__train"


def scheduled_run(home: Path, folder: Path) -> dict[str, Any]:
    """Trigger the train DAG on a running Airflow; its run and task instances as Airflow
    recorded them."""
    with postgres_database(POSTGRES_SERVER, "conveyor_bench") as database:
        stack = AirflowStack(home, folder, database)
        stack.env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = "600"
        try:
            stack.start()
            api = f"{stack.url}/api/v2/dags/{DAG_ID}"
            httpx.patch(api, json={"is_paused": False}, headers=stack.headers, timeout=60).raise_for_status()
            body = {"logical_date": f"{AS_OF}T00:00:00Z", "conf": {"reason": "benchmark"}}
            httpx.post(f"{api}/dagRuns", json=body, headers=stack.headers, timeout=60).raise_for_status()
            run = stack.wait_for_run(DAG_ID, timeout=1800)
            if run["state"] != "success":
                raise SystemExit(f"the run did not succeed: {stack.task_states(DAG_ID, run['dag_run_id'])}")
            instances = stack.get(f"dags/{DAG_ID}/dagRuns/{run['dag_run_id']}/taskInstances")
        finally:
            stack.stop()
    return {"run": run, "instances": instances["task_instances"]}


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def summary(steps: dict[str, float], outcome: dict[str, Any]) -> dict[str, Any]:
    run = outcome["run"]
    ran = [ti for ti in outcome["instances"] if ti["start_date"] and ti["end_date"]]
    tasks = {ti["task_id"]: seconds_between(ti["start_date"], ti["end_date"]) for ti in ran}
    run_seconds = seconds_between(run["start_date"], run["end_date"])
    by_hand, in_dag = sum(steps.values()), sum(tasks[step] for step in STEPS)
    return {
        "days": DAYS,
        "steps_seconds": {k: round(v, 2) for k, v in steps.items()},
        "sum_of_steps_seconds": round(by_hand, 2),
        "queued_seconds": round(seconds_between(run["queued_at"], run["start_date"]), 2),
        "run_seconds": round(run_seconds, 2),
        "overhead_ratio": ratio(run_seconds, by_hand),
        "step_tasks_seconds": round(in_dag, 2),
        "run_over_step_tasks": ratio(run_seconds, in_dag),
        "other_tasks_seconds": round(sum(tasks.values()) - in_dag, 2),
        "between_tasks_seconds": round(run_seconds - sum(tasks.values()), 2),
        "task_seconds": {task: round(seconds, 2) for task, seconds in tasks.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="by-hand rounds; the fastest counts")
    args = parser.parse_args()
    run = Run("scheduled", code=True)
    run.warn_if_busy()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        lakehouse = prepare(root)
        best: dict[str, float] = {}
        for number in range(1, args.rounds + 1):
            home = root / f"by-hand-{number}"
            shutil.copytree(lakehouse, home / "lakehouse")
            steps = steps_by_hand(home)
            print(f"  round {number}: steps by hand {sum(steps.values()):.1f} s", flush=True)
            if not best or sum(steps.values()) < sum(best.values()):
                best = steps
        home = root / "by-airflow"
        shutil.copytree(lakehouse, home / "lakehouse")
        document = summary(best, scheduled_run(home, root / "airflow"))
    print(f"\nrun {document['run_seconds']} s (queued {document['queued_seconds']} s before it), step tasks"
          f" {document['step_tasks_seconds']} s, other tasks {document['other_tasks_seconds']} s, between"
          f" tasks {document['between_tasks_seconds']} s")  # fmt: skip
    for step, seconds in document["steps_seconds"].items():
        print(f"  {step:<18}by hand {seconds:>6.2f} s   as a task {document['task_seconds'][step]:>6.2f} s")
    print_ratios(
        [Figure("train DAG run s", document["run_seconds"], document["sum_of_steps_seconds"])],
        "scheduled run", "steps by hand",
    )  # fmt: skip
    run.write({"rounds": args.rounds, **document})


if __name__ == "__main__":
    main()
