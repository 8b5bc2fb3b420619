"""Model commands: features, datasets, train, evaluate, gate, register, promote, rollback,
lineage and reproduction."""

from __future__ import annotations

import json
from datetime import datetime
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

features_app = typer.Typer(help="Feast: register feature definitions, fill the online store.")
datasets_app = typer.Typer(help="Training and test sets, named by their content.")
app.add_typer(features_app, name="features")
app.add_typer(datasets_app, name="datasets")


@features_app.command("apply")
def features_apply(model: ModelOption) -> None:
    """Register the source's Feast entities, views and services; check the model's features."""
    from pipelines.features import apply_features, feature_store

    platform, config, lakehouse = load_context(model)
    names = apply_features(feature_store(platform), config, lakehouse)
    typer.echo(f"applied: {', '.join(names)}")


@features_app.command("materialize")
def features_materialize(
    model: ModelOption,
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First target day.")],
    end: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="Day after the last.")],
) -> None:
    """Load gold rows of an explicit window of target days into the online store.

    Always an explicit window, never Feast's incremental watermark: reruns and backfills
    load exactly what they name."""
    from pipelines.features import feature_store, materialize_features

    platform, config, _ = load_context(model)
    materialize_features(feature_store(platform), config, start.date(), end.date())
    typer.echo(f"materialized target days {start.date()} .. {end.date()}")


@datasets_app.command("build")
def datasets_build(model: ModelOption, as_of: DateOption, as_json: JsonOption = False) -> None:
    """Build the training and test sets as of a logical date (reused if they exist)."""
    from pipelines.datasets import build_datasets
    from pipelines.features import feature_store

    platform, config, lakehouse = load_context(model)
    train_ref, test_ref = build_datasets(lakehouse, feature_store(platform), config, as_of.date())
    result = {"train": train_ref.to_dict(), "test": test_ref.to_dict()}
    emit(
        result,
        as_json,
        f"train: {train_ref.uri} ({train_ref.rows} rows)\ntest: {test_ref.uri} ({test_ref.rows} rows)",
    )


@datasets_app.command("cleanup")
def datasets_cleanup(
    model: ModelOption,
    delete: Annotated[bool, typer.Option("--delete", help="Delete; without it, only list.")] = False,
) -> None:
    """Drop datasets that no registered model version refers to."""
    from pipelines.datasets import cleanup_datasets
    from pipelines.registry import referenced_datasets

    platform, config, lakehouse = load_context(model)
    referenced = referenced_datasets(tracking_client(platform), config.name)
    dropped = cleanup_datasets(lakehouse, config.name, referenced, dry_run=not delete)
    verb = "deleted" if delete else "would delete (pass --delete)"
    typer.echo(f"{verb} {len(dropped)} unreferenced datasets" + "".join(f"\n  {u}" for u in dropped))


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
    from pipelines.training import train as train_step

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
    from pipelines.training import evaluate as evaluate_step

    platform, config, lakehouse = load_context(model)
    result = evaluate_step(platform, config, tracking_client(platform), lakehouse, run_id)
    numbers = {k: round(v, 3) for k, v in result.evaluation.overall.items()}
    emit(
        {"metrics": result.evaluation.overall, "predictions": result.predictions.to_dict()},
        as_json,
        f"metrics: {numbers}\npredictions: {result.predictions.uri}",
    )


@app.command()
def gate(model: ModelOption, run_id: RunOption, as_json: JsonOption = False) -> None:
    """Decide whether the run may replace the champion (report written and logged)."""
    from pipelines.promotion import gate as gate_step

    platform, config, _ = load_context(model)
    decision = gate_step(platform, config, tracking_client(platform), run_id)
    lines = [f"gate ({decision.kind}, mode {decision.mode}): {decision.summary}"]
    lines += [f"  {'ok  ' if c.passed else 'FAIL'} {c.detail}" for c in decision.checks]
    emit(decision.to_dict(), as_json, "\n".join(lines))


@app.command()
def register(model: ModelOption, run_id: RunOption, as_json: JsonOption = False) -> None:
    """Register the run's model as a new version with its lineage; alias it challenger."""
    from pipelines.promotion import register as register_step

    platform, config, _ = load_context(model)
    version = register_step(platform, config, tracking_client(platform), run_id)
    emit({"version": version}, as_json, f"registered {config.name} version {version} (challenger)")


@app.command()
def promote(
    model: ModelOption,
    version: Annotated[str, typer.Option(help="Model version to make champion.")],
    force: Annotated[
        bool, typer.Option("--force/--no-force", help="Promote although the gate said no.")
    ] = False,
    requested_by: Annotated[str | None, typer.Option(help="Who forces (with --force).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (with --force).")] = None,
) -> None:
    """Make a version champion if its gate passed (compare-and-set against the champion it
    was evaluated against)."""
    from pipelines.promotion import promote_version

    platform, config, _ = load_context(model)
    if force and not (requested_by and reason):
        raise ConfigError("--force needs --requested-by and --reason: a forced promotion is recorded")
    moved = promote_version(
        platform,
        config,
        tracking_client(platform),
        version,
        forced_by=requested_by if force else None,
        forced_reason=reason if force else None,
    )
    typer.echo(f"{config.name}: champion {moved.previous} -> {moved.version}")


@app.command()
def rollback(
    model: ModelOption, version: Annotated[str, typer.Option(help="Earlier version to restore.")]
) -> None:
    """Point champion at an earlier version; serving follows."""
    from pipelines.registry import rollback as rollback_step

    platform, config, _ = load_context(model)
    moved = rollback_step(tracking_client(platform), platform, config.name, version)
    typer.echo(f"{config.name}: champion {moved.previous} -> {moved.version} (rollback)")


@app.command()
def lineage(
    reference: Annotated[
        str, typer.Argument(help="<model>@champion, <model>@challenger or <model>@<version>")
    ],
    as_json: JsonOption = False,
) -> None:
    """Everything a model version came from: code, config, data, validation, trigger, run."""
    from pipelines.config import load_platform_config
    from pipelines.registry import lineage as read_lineage

    record = read_lineage(tracking_client(load_platform_config()), reference)
    human = [f"{record['model']} version {record['version']} {record['aliases']}  run {record['run_id']}"]
    human += [f"  {k}: {v}" for k, v in record["lineage"].items()]
    human += [f"  gate: {record['gate'].get('summary', '')}"]
    human += [f"  {k}: {v:.3f}" for k, v in record["metrics"].items()]
    emit(record, as_json, "\n".join(human))


@app.command("retrain-from-lineage")
def retrain_from_lineage(
    reference: Annotated[str, typer.Argument(help="<model>@<version> or <model>@champion")],
) -> None:
    """Train again from a version's recorded config, data and seed; compare the metrics."""
    from pipelines.config import load_platform_config
    from pipelines.cycle import retrain_from_lineage as reproduce
    from pipelines.storage import Lakehouse

    platform = load_platform_config()
    result = reproduce(platform, tracking_client(platform), Lakehouse(platform.lakehouse_uri), reference)
    typer.echo(f"reproduced {result.reference} as run {result.run_id}")
    for key, value in result.original.items():
        typer.echo(f"  {key}: recorded {value!r}, now {result.reproduced[key]!r}")
    typer.echo("metrics match exactly" if result.matches else "metrics DIFFER")
    if not result.matches:
        raise typer.Exit(1)
