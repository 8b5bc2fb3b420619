from __future__ import annotations

from pathlib import Path

from conveyor.train_dag import promotion_branch, trigger_reason

TRAIN_DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "conveyor_train.py"


def test_a_run_records_what_started_it():
    assert trigger_reason("scheduled", None) == "schedule"
    assert trigger_reason("asset_triggered", None) == "new features"
    assert trigger_reason("manual", None) == "manual"
    assert trigger_reason("manual", "alert: FreightErrorHigh") == "alert: FreightErrorHigh"
    assert trigger_reason("scheduled", "data shift") == "data shift"


def test_promotion_follows_the_gate_unless_forced_and_waits_for_approval_when_asked():
    assert promotion_branch({"promote": True}, force=False, approval=False) == "promote_model"
    assert promotion_branch({"promote": False}, force=False, approval=False) == "keep_champion"
    assert promotion_branch({"promote": False}, force=True, approval=False) == "promote_model"
    assert promotion_branch({"promote": True}, force=False, approval=True) == "approve_promotion"
    assert promotion_branch(None, force=False, approval=True) == "keep_champion"


def test_a_nightly_run_records_schedule_with_the_run_type_airflow_hands_a_task():
    """train_model's --reason as its task renders it, with the DAG's own template macros;
    what a task gets is the Task SDK's enum, whose str() is "DagRunType.SCHEDULED"."""
    from types import SimpleNamespace

    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.api.datamodels._generated import DagRunType

    dag = DagBag(dag_folder=str(TRAIN_DAG_FILE)).dags["freight_volume__train"]
    arguments = dag.get_task("train_model").arguments
    template = dag.get_template_env().from_string(arguments[arguments.index("--reason") + 1])

    def reason(run_type, requested="manual"):
        return template.render(dag_run=SimpleNamespace(run_type=run_type), params={"reason": requested})

    assert reason(DagRunType.SCHEDULED) == "schedule"
    assert reason(DagRunType.ASSET_TRIGGERED) == "new features"
    assert reason(DagRunType.MANUAL) == "manual"
    assert reason(DagRunType.MANUAL, "alert: FreightErrorHigh") == "alert: FreightErrorHigh"
