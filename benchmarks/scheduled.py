"""Orchestration overhead under a running Airflow: the train DAG triggered through the REST
API of a real Airflow (API server, scheduler with the LocalExecutor, DAG processor and
triggerer on a PostgreSQL database of its own: the browser tests' stack,
``tests/e2e/airflow_stack.py``) against the sum of its steps run by hand, on the same data,
in the same run.

    python benchmarks/scheduled.py [--rounds 2]

What a production run pays per run, less the containers: the scheduler's latency between
tasks, each task's own process (the supervisor, parsing the DAG file, the task runner) and
the executor. The stack starts, parses the DAGs and answers on the tasks' API before the
clock; its DAG processor then parses again only every 10 minutes, so that it does not
compete with the run; the scheduler sleeps between idle loops as the compose stack's does
(docker-compose.yml) and beats every 2 s (the browser tests' setting). The run's seconds
are Airflow's own (the run's start and end dates); both sides start without a champion, so
both do the same work (a first deploy). Each of ``--rounds`` rounds runs the steps by hand
and the DAG (on a fresh stack), each on a fresh copy of the data; the fastest of each side
counts. Results go to ``benchmarks/results/scheduled.json``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from measure import Figure, Run, print_ratios, ratio
from orchestration import AS_OF, STEPS, fed_line, prepare, steps_by_hand

from pipelines.config.load import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT))  # the browser tests' Airflow stack is the one measured
from tests.conftest import POSTGRES_SERVER
from tests.e2e.airflow_stack import AirflowStack
from tests.support import postgres_database

DAG_ID = "freight_volume__train"
SCHEDULER_IDLE = "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"


def production_scheduler_idle_sleep() -> str:
    """The idle scheduler's sleep between loops that the compose stack runs with (its
    default in docker-compose.yml): the run waits for the scheduler's next loop at each hop."""
    compose = (REPO_ROOT / "docker-compose.yml").read_text()
    found = re.search(SCHEDULER_IDLE + r": \$\{\w+:-([0-9.]+)\}", compose)
    if found is None:
        raise SystemExit(f"docker-compose.yml sets no {SCHEDULER_IDLE} default: the benchmark measures it")
    return found.group(1)


def scheduled_run(home: Path, folder: Path, idle_sleep: str) -> dict[str, Any]:
    """Trigger the train DAG on a running Airflow; its run and task instances as Airflow
    recorded them."""
    with postgres_database(POSTGRES_SERVER, "conveyor_bench") as database:
        stack = AirflowStack(home, folder, database)
        stack.env["AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL"] = "600"
        stack.env[SCHEDULER_IDLE] = idle_sleep
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


def run_seconds(outcome: dict[str, Any]) -> float:
    return seconds_between(outcome["run"]["start_date"], outcome["run"]["end_date"])


def summary(
    steps: dict[str, float], fed: dict[str, int], idle_sleep: str, outcome: dict[str, Any]
) -> dict[str, Any]:
    run = outcome["run"]
    ran = [ti for ti in outcome["instances"] if ti["start_date"] and ti["end_date"]]
    tasks = {ti["task_id"]: seconds_between(ti["start_date"], ti["end_date"]) for ti in ran}
    elapsed = run_seconds(outcome)
    by_hand, in_dag = sum(steps.values()), sum(tasks[step] for step in STEPS)
    return {
        "fed": fed,
        "scheduler_idle_sleep_seconds": float(idle_sleep),
        "steps_seconds": {k: round(v, 2) for k, v in steps.items()},
        "sum_of_steps_seconds": round(by_hand, 2),
        "queued_seconds": round(seconds_between(run["queued_at"], run["start_date"]), 2),
        "run_seconds": round(elapsed, 2),
        "overhead_ratio": ratio(elapsed, by_hand),
        "step_tasks_seconds": round(in_dag, 2),
        "run_over_step_tasks": ratio(elapsed, in_dag),
        "other_tasks_seconds": round(sum(tasks.values()) - in_dag, 2),
        "between_tasks_seconds": round(elapsed - sum(tasks.values()), 2),
        "task_seconds": {task: round(seconds, 2) for task, seconds in tasks.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=2, help="rounds of both sides; the fastest of each counts"
    )
    args = parser.parse_args()
    run = Run("scheduled", code=True)
    run.warn_if_busy()
    idle_sleep = production_scheduler_idle_sleep()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        lakehouse = prepare(root)
        steps: dict[str, float] = {}
        dag_run: dict[str, Any] = {}
        for number in range(1, args.rounds + 1):
            by_hand, by_airflow = root / f"by-hand-{number}", root / f"by-airflow-{number}"
            for home in (by_hand, by_airflow):
                shutil.copytree(lakehouse, home / "lakehouse")
            these_steps, fed = steps_by_hand(by_hand)
            this_run = scheduled_run(by_airflow, root / f"airflow-{number}", idle_sleep)
            print(f"  round {number}: steps by hand {sum(these_steps.values()):.1f} s,"
                  f" the run {run_seconds(this_run):.1f} s", flush=True)  # fmt: skip
            if not steps or sum(these_steps.values()) < sum(steps.values()):
                steps = these_steps
            if not dag_run or run_seconds(this_run) < run_seconds(dag_run):
                dag_run = this_run
        document = summary(steps, fed, idle_sleep, dag_run)
    print(f"\nrun {document['run_seconds']} s (queued {document['queued_seconds']} s before it), step tasks"
          f" {document['step_tasks_seconds']} s, other tasks {document['other_tasks_seconds']} s, between"
          f" tasks {document['between_tasks_seconds']} s")  # fmt: skip
    print(f"{fed_line(fed)}; the scheduler's idle sleep {idle_sleep} s")
    for step, seconds in document["steps_seconds"].items():
        print(f"  {step:<18}by hand {seconds:>6.2f} s   as a task {document['task_seconds'][step]:>6.2f} s")
    print_ratios(
        [Figure("train DAG run s", document["run_seconds"], document["sum_of_steps_seconds"])],
        "scheduled run", "steps by hand",
    )  # fmt: skip
    run.write({"rounds": args.rounds, **document})


if __name__ == "__main__":
    main()
