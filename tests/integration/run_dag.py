"""Run one DAG with ``dag.test()`` in its own process and print the outcome as JSON.

    python tests/integration/run_dag.py DAG_ID LOGICAL_DATE [CONF_JSON]

Airflow reads its configuration when it is first imported, so each DAG run gets a fresh
process with AIRFLOW_HOME, the DAG and plugin folders set by the caller."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime


def main() -> None:
    dag_id, logical_date = sys.argv[1], sys.argv[2]
    conf = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.session import create_session

    bag = DagBag()
    if bag.import_errors:
        raise SystemExit(f"import errors: {bag.import_errors}")
    dag = bag.get_dag(dag_id)
    day = datetime.fromisoformat(logical_date).replace(tzinfo=UTC)
    run = dag.test(logical_date=day, run_conf=conf)
    with create_session() as session:
        from airflow.models.taskinstance import TaskInstance

        instances = session.query(TaskInstance).filter(
            TaskInstance.run_id == run.run_id, TaskInstance.dag_id == dag_id
        )
        states = {ti.task_id: str(ti.state) for ti in instances}
        tries = {ti.task_id: ti.try_number for ti in instances}
        from airflow.models.dagrun import DagRun

        others = [
            {"dag_id": r.dag_id, "run_id": r.run_id, "conf": r.conf, "state": str(r.state)}
            for r in session.query(DagRun).filter(DagRun.dag_id != dag_id)
        ]
    outcome = {
        "state": str(run.state),
        "run_id": run.run_id,
        "tasks": states,
        "tries": tries,
        "others": others,
    }
    print(json.dumps(outcome, default=str))


if __name__ == "__main__":
    main()
