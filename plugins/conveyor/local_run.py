"""Run one DAG with ``dag.test()`` in this process and print the outcome as JSON.

    python -m conveyor.local_run DAG_ID LOGICAL_DATE [CONF_JSON]

For the demo and tests on the embedded default: every task runs for real, in order,
without a scheduler. Airflow reads its configuration when first imported, so callers
start this in a process of its own with AIRFLOW_HOME and the DAG and plugin folders set
(``pipelines.local.airflow.airflow_environment``). A run already queued for the same logical date (e.g. one a
monitor triggered) is replaced by this one, as ``dag.test`` does.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime


def _warm_execution_api() -> None:
    """dag.test's tasks talk to an execution API that this process builds on first use, and
    FastAPI builds its routes on the first request: 5-7 s on 2 cores, paid inside the run's
    first task. Pay it before the run, as a running API server has paid it long before (the
    compose stack's health check asks that API), so that the run's own seconds are what a
    running Airflow pays per run (benchmarks/orchestration.py)."""
    import httpx
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    api = in_process_api_server()  # the one dag.test's tasks use (cached), and its transport
    httpx.Client(transport=api.transport, base_url="http://in-process").get("/health")  # any answer


def main() -> None:
    dag_id, logical_date = sys.argv[1], sys.argv[2]
    conf = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    bag = DagBag()
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    dag = bag.dags[dag_id]
    day = datetime.fromisoformat(logical_date).replace(tzinfo=UTC)
    _warm_execution_api()
    test_began = datetime.now(UTC)
    run = dag.test(logical_date=day, run_conf=conf)
    with create_session() as session:
        instances = session.query(TaskInstance).filter(
            TaskInstance.run_id == run.run_id, TaskInstance.dag_id == dag_id
        )
        states = {ti.task_id: str(ti.state) for ti in instances}
        tries = {ti.task_id: ti.try_number for ti in instances}
        mapped: dict[str, dict[int, str]] = {}  # a mapped task's instances, by map index
        for ti in instances.filter(TaskInstance.map_index >= 0):
            mapped.setdefault(ti.task_id, {})[ti.map_index] = str(ti.state)
        spans: dict[str, list[str]] = {}  # first start and last end of each task's instances
        for ti in instances:
            if ti.start_date and ti.end_date:
                began, ended = ti.start_date.isoformat(), ti.end_date.isoformat()
                start, end = spans.get(ti.task_id, [began, ended])
                spans[ti.task_id] = [min(start, began), max(end, ended)]
        others = [
            {"dag_id": r.dag_id, "run_id": r.run_id, "conf": r.conf, "state": str(r.state),
             "logical_date": r.logical_date.isoformat() if r.logical_date else None}
            for r in session.query(DagRun).filter(DagRun.dag_id != dag_id)
        ]  # fmt: skip
    outcome = {
        "state": str(run.state),
        "run_id": run.run_id,
        "tasks": states,
        "tries": tries,
        "mapped": mapped,
        "spans": spans,
        "test_began": test_began.isoformat(),
        "others": others,
    }
    print(json.dumps(outcome, default=str))


if __name__ == "__main__":
    main()
    # The run is committed and its outcome printed: end now. The interpreter's own ending
    # spends ~2 s collecting what Airflow, FastAPI and pydantic built, on every DAG run of
    # the demo and the tests (benchmarks/orchestration.py, "after the last task").
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
