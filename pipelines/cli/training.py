"""Training commands: tune (start, trial, finish), train, evaluate."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
import yaml

from pipelines.cli.common import (
    DateOption,
    JsonOption,
    ModelOption,
    RunOption,
    app,
    emit,
    load_context,
    tracking_client,
)
from pipelines.errors import ConfigError


def _parse_overrides(values: list[str]) -> dict[str, Any]:
    overrides = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"--param {item!r}: use NAME=VALUE, e.g. --param epochs=30")
        overrides[key] = yaml.safe_load(raw)
    return overrides


@app.command()
def train(
    model: ModelOption,
    as_of: DateOption,
    train_dataset: Annotated[str, typer.Option(help="URI from `conveyor datasets build`.")],
    test_dataset: Annotated[str, typer.Option(help="URI from `conveyor datasets build`.")],
    reason: Annotated[str, typer.Option(help="Why this training runs (recorded in lineage).")] = "manual",
    dag_run_id: Annotated[str | None, typer.Option(help="Airflow DAG run id, if any.")] = None,
    param: Annotated[list[str] | None, typer.Option(help="Hyperparameter override NAME=VALUE.")] = None,
    params_json: Annotated[str, typer.Option(help='Overrides as a JSON object, e.g. {"epochs": 12}.')] = "{}",
    tuning_json: Annotated[
        str, typer.Option(help="`conveyor tune finish`'s JSON result: train with its parameters.")
    ] = "null",
    as_json: JsonOption = False,
) -> None:
    """Train a model and log it as an MLflow run; resumes from checkpoints if retried.
    Overrides (--params-json, --param) apply over tuned parameters."""
    from pipelines.training.train import train_model as train_step

    platform, config, lakehouse = load_context(model)
    overrides = {**_json_object(params_json, "--params-json"), **_parse_overrides(param or [])}
    tuning = (
        _json_object(tuning_json, "--tuning-json")
        if tuning_json.strip() not in ("null", "None", "")
        else None
    )
    run_id = train_step(
        platform,
        config,
        tracking_client(platform),
        lakehouse,
        train_uri=train_dataset,
        test_uri=test_dataset,
        as_of=as_of.date(),
        trigger_reason=reason,
        dag_run_id=dag_run_id,
        overrides=overrides,
        tuning=tuning,
    )
    emit({"run_id": run_id}, as_json, f"trained: run {run_id}")


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise ConfigError(f'{option} {text!r} is not a JSON object like {{"epochs": 12}}')
    return value


tune_app = typer.Typer(help="Hyperparameter tuning: one Optuna study a training, trials on any worker.")
app.add_typer(tune_app, name="tune")
StudyOption = Annotated[str, typer.Option(help="The study `conveyor tune start` created.")]


@tune_app.command("start")
def tune_start(
    model: ModelOption,
    dag_run_id: Annotated[str, typer.Option(help="The training's DAG run id: one study a run.")],
    as_json: JsonOption = False,
) -> None:
    """Create the run's study (or find it again on a retry) and its parent MLflow run."""
    from pipelines.training.tune import create_study

    platform, config, _ = load_context(model)
    result = create_study(platform, config, tracking_client(platform), dag_run_id=dag_run_id)
    emit(
        result, as_json, f"study {result['study']}: {result['trials']} trials, run {result['tuning_run_id']}"
    )


@tune_app.command("trial")
def tune_trial(
    model: ModelOption,
    study: StudyOption,
    slot: Annotated[int, typer.Option(min=0, help="0: the config's own parameters; 1..N: a trial.")],
    train_dataset: Annotated[str, typer.Option(help="URI from `conveyor datasets build`.")],
    as_json: JsonOption = False,
) -> None:
    """Run one trial of the study on the training set's validation split."""
    from pipelines.training.tune import tune_trial as trial_step

    platform, config, _ = load_context(model)
    result = trial_step(
        platform, config, tracking_client(platform), study=study, slot=slot, train_uri=train_dataset
    )
    emit(result, as_json, f"slot {slot}: {result['state']} {result.get('value', '')}")


@tune_app.command("finish")
def tune_finish(model: ModelOption, study: StudyOption, as_json: JsonOption = False) -> None:
    """The parameters training should use (the best trial's, when it beats the config's own)."""
    from pipelines.training.tune import finish_tuning

    platform, config, _ = load_context(model)
    result = finish_tuning(platform, config, tracking_client(platform), study=study)
    emit(result, as_json, json.dumps(result, indent=2, default=str))


@app.command()
def evaluate(model: ModelOption, run_id: RunOption, as_json: JsonOption = False) -> None:
    """Score the run's test set: metrics overall and per slice, predictions as a dataset."""
    from pipelines.training.evaluate import evaluate_model as evaluate_step

    platform, config, lakehouse = load_context(model)
    result = evaluate_step(platform, config, tracking_client(platform), lakehouse, run_id)
    numbers = {k: round(v, 3) for k, v in result.evaluation.overall.items()}
    emit(
        {"metrics": result.evaluation.overall, "predictions": result.predictions.to_dict()},
        as_json,
        f"metrics: {numbers}\npredictions: {result.predictions.uri}",
    )
