"""The train DAG's pieces between its steps: its schedule, why a run runs, the branch after
the gate (through a human's approval when the config asks for one), and the templates
that hand one step's result to the next. Imports nothing heavy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import task

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

    from pipelines.config.model import ModelConfig

# The promote step's arguments from the retrain form: force only with who and why.
FORCED_PROMOTION = (
    "{{ '--force' if params.force_promote else '--no-force' }}",
    "--requested-by",
    "{{ params.requested_by or '' }}",
    "--reason",
    "{{ params.justification or '' }}",
)


def pulled(task_id: str, path: str = "") -> str:
    """A template of what ``task_id`` returned (its XCom), e.g. ``pulled("train_model", "['run_id']")``."""
    return "{{ ti.xcom_pull(task_ids='" + task_id + "')" + path + " }}"


def train_schedule(config: ModelConfig) -> Any:
    """The nightly cron, or, when the config asks for data-driven retraining, the cron or new
    features, whichever comes first."""
    if not config.triggers.on_new_features:
        return config.triggers.schedule
    from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule
    from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable

    from conveyor.dag_support import features_asset

    return AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(config.triggers.schedule, timezone="UTC"),
        assets=[features_asset(config)],
    )


def trigger_reason(run_type: str, requested: str | None) -> str:
    """Why a training run runs: what its trigger or form asked for, else what started it
    (a scheduled run carries the form's default, "manual", which is not a reason)."""
    by_run_type = {"scheduled": "schedule", "asset_triggered": "new features", "backfill": "backfill"}
    if requested and requested != "manual":
        return requested
    return by_run_type.get(run_type, "manual")


def promotion_branch(gate: dict[str, Any] | None, force: bool, approval: bool) -> str:
    """The task to follow the gate with: promotion (through a human's approval when the
    config asks for one), or keeping the champion."""
    if force or (gate or {}).get("promote"):
        return "approve_promotion" if approval else "promote_model"
    return "keep_champion"


@task
def resolve_trigger_reason(dag_run: Any = None, params: Any = None) -> str:
    # The Task SDK's run type is an enum whose str() is "DagRunType.SCHEDULED": use its value.
    run_type = getattr(dag_run.run_type, "value", dag_run.run_type)
    return trigger_reason(str(run_type), params["reason"])


@task.branch
def choose_promotion(approval: bool, ti: Any = None, params: Any = None) -> str:
    return promotion_branch(ti.xcom_pull(task_ids="gate_model"), bool(params["force_promote"]), approval)


def promote_after(branch: Any, promote: BaseOperator, config: ModelConfig) -> None:
    """Wire ``branch >> promote``, with a human's approval between when the config asks."""
    from airflow.providers.standard.operators.empty import EmptyOperator

    if config.gates.require_approval:
        from airflow.providers.standard.operators.hitl import ApprovalOperator

        approve_promotion = ApprovalOperator(
            task_id="approve_promotion",
            subject=f"Promote {config.name}?",
            body="Gate report: "
            + pulled("gate_model", "['summary']")
            + "\n\nModel card: "
            + pulled("register_model", "['card']"),
            execution_timeout=None,
        )
        branch >> approve_promotion >> promote
    else:
        branch >> promote
    branch >> EmptyOperator(task_id="keep_champion")
