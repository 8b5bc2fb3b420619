"""The train DAG's pieces between its steps: its schedule, why a run runs, the tuning stage
when the config has one, the branch after the gate (through a human's approval when the
config asks for one), and the templates that hand one step's result to the next. Imports
nothing heavy."""

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


def trigger_reason(run_type: Any, requested: str | None) -> str:
    """Why a training run runs: what its trigger or form asked for, else what started it
    (a scheduled run carries the form's default, "manual", which is not a reason).
    ``run_type`` as a task's context has it: the Task SDK's enum, whose str() is
    "DagRunType.SCHEDULED", so its value is read."""
    by_run_type = {"scheduled": "schedule", "asset_triggered": "new features", "backfill": "backfill"}
    if requested and requested != "manual":
        return requested
    return by_run_type.get(str(getattr(run_type, "value", run_type)), "manual")


# train_model's --reason, rendered with the DAG's macros (TRAIN_MACROS) when the task runs:
# a template rather than a task of its own, which cost a task process and a scheduler hop
# at the start of every run (docs/benchmarks.md).
TRIGGER_REASON = "{{ trigger_reason(dag_run.run_type, params.reason) }}"
TRAIN_MACROS = {"trigger_reason": trigger_reason}


def promotion_branch(gate: dict[str, Any] | None, force: bool, approval: bool) -> str:
    """The task to follow the gate with: promotion (through a human's approval when the
    config asks for one), or keeping the champion."""
    if force or (gate or {}).get("promote"):
        return "approve_promotion" if approval else "promote_model"
    return "keep_champion"


@task.branch
def choose_tuning(params: Any = None) -> str:
    return "create_study" if params["tune"] else "skip_tuning"


def tuned_parameters(config: ModelConfig) -> tuple[str, ...]:
    """train_model's argument for the tuning stage's result (null when the run skipped it)."""
    if config.tuning is None:
        return ()
    return ("--tuning-json", "{{ ti.xcom_pull(task_ids='finish_tuning') | tojson }}")


def tune_between(datasets: BaseOperator, train: BaseOperator, config: ModelConfig) -> None:
    """Wire ``datasets >> train``, with the tuning stage between when the config has one:
    a study, its trials as one mapped task (``workers`` at a time, slot 0 the config's own
    parameters), the best parameters; the form's ``tune`` switch skips it for a run."""
    if config.tuning is None:
        datasets >> train
        return
    from airflow.providers.standard.operators.empty import EmptyOperator
    from airflow.sdk import TriggerRule

    from conveyor.operators.step import step_task

    model, study = ("-m", config.name), ("--study", pulled("create_study", "['study']"))
    start = step_task("training.tune.create_study", *model, "--dag-run-id", "{{ run_id }}", "--json")
    # Trials are many small trainings meant to run side by side: on the default queue's
    # workers (CPU), not one at a time through the gpu queue's one-slot pool.
    trials = step_task("training.tune.tune_trial", *model, *study,
                       "--train-dataset", pulled("build_datasets", "['train']['uri']"), "--json",
                       max_active_tis_per_dagrun=config.tuning.workers,
                       mapped_over=[("--slot", str(n)) for n in range(config.tuning.trials + 1)])  # fmt: skip
    finish = step_task("training.tune.finish_tuning", *model, *study, "--json")
    skip_tuning = EmptyOperator(task_id="skip_tuning")
    datasets >> choose_tuning() >> [start, skip_tuning]
    start >> trials >> finish >> train
    skip_tuning >> train
    train.trigger_rule = TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS  # after either branch


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
