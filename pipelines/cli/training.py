"""Training commands: train, evaluate."""

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
    as_json: JsonOption = False,
) -> None:
    """Train a model and log it as an MLflow run; resumes from checkpoints if retried."""
    from pipelines.training.train import train_model as train_step

    platform, config, lakehouse = load_context(model)
    try:
        overrides = {**json.loads(params_json), **_parse_overrides(param or [])}
    except (json.JSONDecodeError, TypeError):
        raise ConfigError(
            f'--params-json {params_json!r} is not a JSON object like {{"epochs": 12}}'
        ) from None
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
    )
    emit({"run_id": run_id}, as_json, f"trained: run {run_id}")


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
