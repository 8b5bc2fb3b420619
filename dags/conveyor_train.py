"""<model>__train, one DAG per model config: from features to a (possibly new) champion.

resolve_trigger_reason -> apply_features -> build_datasets -> train_model -> evaluate_model
-> gate_model -> register_model -> choose_promotion -> [approve_promotion] -> promote_model
                                                      \\-> keep_champion
Runs on a manual trigger (a form), the nightly schedule from the config, new features (when
the config asks for data-driven retraining), and triggers from the monitor DAG or an
outside alerting system (DAG run ``conf``: ``{"reason": "..."}``).
"""

from __future__ import annotations

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, task
from conveyor.dag_support import (
    RUN_DAY,
    START_DATE,
    default_args,
    features_asset,
    model_configs,
    promotion_branch,
    trigger_reason,
)
from conveyor.forms import train_params
from conveyor.operators.step import conveyor_task

DOC = """
### Train {model}

Builds the training and test sets as of the run's logical date, trains `{model_type}`
(seed {seed}), evaluates it overall and per slice, runs the gates (mode `{mode}`),
registers the version as `challenger` with its full lineage, and promotes it to
`champion` when the gates pass (or when forced, with who and why). Every run records why
it ran: the form's *reason*, `schedule`, `new features`, or the reason a trigger sent.

Trigger it from outside (an alert) with Airflow's REST API:
`POST /api/v2/dags/{model}__train/dagRuns` with
`{{"logical_date": null, "conf": {{"reason": "alert: <name>"}}}}`.
"""


def _schedule(config):
    if not config.triggers.on_new_features:
        return config.triggers.schedule
    from airflow.sdk.definitions.timetables.assets import AssetOrTimeSchedule
    from airflow.sdk.definitions.timetables.trigger import CronTriggerTimetable

    return AssetOrTimeSchedule(
        timetable=CronTriggerTimetable(config.triggers.schedule, timezone="UTC"),
        assets=[features_asset(config)],
    )


def build_train_dag(config):
    model = ["-m", config.name]
    xcom = "ti.xcom_pull(task_ids='{}')"
    with DAG(
        dag_id=f"{config.name}__train",
        schedule=_schedule(config),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,  # one training of a model at a time: triggers queue, never pile up
        default_args=default_args(config),
        params=train_params(config),
        tags=["conveyor", config.name, "train"],
        doc_md=DOC.format(
            model=config.name, model_type=config.model.type, seed=config.model.seed, mode=config.gates.mode
        ),
        description=f"Train, gate, register and promote {config.name}",
    ) as dag:

        @task
        def resolve_trigger_reason(dag_run=None, params=None) -> str:
            return trigger_reason(str(dag_run.run_type), params["reason"])

        @task.branch
        def choose_promotion(ti=None, params=None) -> str:
            gate = ti.xcom_pull(task_ids="gate_model")
            return promotion_branch(gate, bool(params["force_promote"]), config.gates.require_approval)

        reason = resolve_trigger_reason()
        apply_features = conveyor_task("apply_features", ["features", "apply", *model])
        build_datasets = conveyor_task(
            "build_datasets", ["datasets", "build", *model, "-d", RUN_DAY, "--json"]
        )
        train_model = conveyor_task(
            "train_model",
            ["train", *model, "-d", RUN_DAY,
             "--train-dataset", "{{ " + xcom.format("build_datasets") + "['train']['uri'] }}",
             "--test-dataset", "{{ " + xcom.format("build_datasets") + "['test']['uri'] }}",
             "--reason", "{{ " + xcom.format("resolve_trigger_reason") + " }}",
             "--dag-run-id", "{{ run_id }}",
             "--params-json", "{{ params.overrides | tojson }}", "--json"],
            gpu=True,
        )  # fmt: skip
        run_id = "{{ " + xcom.format("train_model") + "['run_id'] }}"
        evaluate_model = conveyor_task("evaluate_model", ["evaluate", *model, "--run-id", run_id, "--json"])
        gate_model = conveyor_task("gate_model", ["gate", *model, "--run-id", run_id, "--json"])
        register_model = conveyor_task("register_model", ["register", *model, "--run-id", run_id, "--json"])
        promote_model = conveyor_task(
            "promote_model",
            ["promote", *model, "--version", "{{ " + xcom.format("register_model") + "['version'] }}",
             "{{ '--force' if params.force_promote else '--no-force' }}",
             "--requested-by", "{{ params.requested_by or '' }}",
             "--reason", "{{ params.justification or '' }}"],
        )  # fmt: skip
        keep_champion = EmptyOperator(task_id="keep_champion")
        branch = choose_promotion()

        reason >> apply_features >> build_datasets >> train_model >> evaluate_model >> gate_model
        gate_model >> register_model >> branch
        if config.gates.require_approval:
            from airflow.providers.standard.operators.hitl import ApprovalOperator

            approve_promotion = ApprovalOperator(
                task_id="approve_promotion",
                subject=f"Promote {config.name}?",
                body="Gate report: {{ " + xcom.format("gate_model") + "['summary'] }}",
                execution_timeout=None,
            )
            branch >> approve_promotion >> promote_model
        else:
            branch >> promote_model
        branch >> keep_champion
    return dag


for _config in model_configs():
    globals()[f"{_config.name}__train"] = build_train_dag(_config)
