"""<model>__train, one Airflow DAG per model config: from features to a (possibly new) champion.
What each task does: dags/docs/train.md; its code: the function of the same name."""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import chain
from conveyor.dag_support import RUN_DAY, model_configs, model_dag
from conveyor.forms import train_params
from conveyor.operators.step import step_task
from conveyor.train_dag import (
    FORCED_PROMOTION,
    TRAIN_MACROS,
    TRIGGER_REASON,
    choose_promotion,
    promote_after,
    pulled,
    train_schedule,
    tune_between,
    tuned_parameters,
)


def build_train_dag(config):
    model, run = ("-m", config.name), ("--run-id", pulled("train_model", "['run_id']"))
    with model_dag(
        config,
        "train",
        doc=Path(__file__).parent / "docs" / "train.md",
        schedule=train_schedule(config),
        params=train_params(config),
        user_defined_macros=TRAIN_MACROS,
        description=f"Train, gate, register and promote {config.name}",
    ) as dag:
        branch = choose_promotion(config.gates.require_approval)
        datasets = step_task("features.datasets.build_datasets", *model, "-d", RUN_DAY, "--json")
        train = step_task("training.train.train_model", *model, "-d", RUN_DAY,
                          "--train-dataset", pulled("build_datasets", "['train']['uri']"),
                          "--test-dataset", pulled("build_datasets", "['test']['uri']"),
                          "--reason", TRIGGER_REASON, "--dag-run-id", "{{ run_id }}",
                          "--params-json", "{{ params.overrides | tojson }}", *tuned_parameters(config),
                          "--json", gpu=True)  # fmt: skip
        step_task("features.store.apply_features", *model) >> datasets
        tune_between(datasets, train, config)
        chain(
            train,
            step_task("training.evaluate.evaluate_model", *model, *run, "--json"),
            step_task("release.gate.gate_model", *model, *run, "--json"),
            step_task("release.register.register_model", *model, *run, "--json"),
            branch,
        )
        promotion = ("--version", pulled("register_model", "['version']"), *FORCED_PROMOTION)
        promote_after(branch, step_task("release.promote.promote_model", *model, *promotion), config)
    return dag


for _config in model_configs():
    globals()[f"{_config.name}__train"] = build_train_dag(_config)
