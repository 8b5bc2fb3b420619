"""``conveyor``: one command per pipeline step. Airflow runs these same commands.

Every command takes ``--model <name>`` (a file in ``configs/models/``) and, where it works
on a partition, ``--logical-date YYYY-MM-DD``. Errors print what went wrong and how to fix
it, and exit non-zero: 2 config, 3 conflict with published data, 4 missing input,
5 batch rejected by validation, 6 the champion moved since evaluation, 7 a version
blocked by its gates.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import yaml

from pipelines.errors import ConfigError, ConveyorError

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config import ModelConfig, PlatformConfig
    from pipelines.monitor import CheckResult
    from pipelines.storage import Lakehouse

app = typer.Typer(
    name="conveyor",
    help="Conveyor: data in, champion model out, kept fresh. Each command is one pipeline step.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("conveyor")

ModelOption = Annotated[
    str, typer.Option("--model", "-m", help="Model config name (configs/models/<name>.yaml).")
]
DateOption = Annotated[
    datetime,
    typer.Option("--logical-date", "-d", formats=["%Y-%m-%d"], help="Partition to work on."),
]


def _context(model: str) -> tuple[PlatformConfig, ModelConfig, Lakehouse]:
    from pipelines.config import load_model_config, load_platform_config
    from pipelines.storage import Lakehouse

    platform = load_platform_config()
    return platform, load_model_config(model), Lakehouse(platform.lakehouse_uri)


@app.command()
def generate(
    model: ModelOption,
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First service day.")],
    days: Annotated[int, typer.Option(min=1, help="Number of service days.")] = 120,
    routes: Annotated[int, typer.Option(min=1, help="Number of station pairs.")] = 40,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 0,
    shift: Annotated[str | None, typer.Option(help="new_region | scale | new_stations")] = None,
    shift_start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First day of the shift.")
    ] = None,
    corrupt: Annotated[str | None, typer.Option(help="Corrupt one batch (kinds below).")] = None,
    corrupt_date: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Logical date of the corrupt batch."),
    ] = None,
) -> None:
    """Generate sample batches into the landing area, one CSV per logical date.

    Corruptions: nulls, negative_volume, out_of_range_dates, renamed_column, retyped_column,
    duplicate_keys, empty_file, malformed_csv, huge_batch.
    """
    from pipelines.generate import generate_batches

    platform, config, _ = _context(model)
    written = generate_batches(
        platform,
        config,
        start=start.date(),
        days=days,
        routes=routes,
        seed=seed,
        shift=shift,
        shift_start=shift_start.date() if shift_start else None,
        corrupt=corrupt,
        corrupt_date=corrupt_date.date() if corrupt_date else None,
    )
    typer.echo(
        f"wrote {len(written)} batches ({min(written)} .. {max(written)}) to "
        f"{platform.landing_uri}/{config.source.name}/"
    )


@app.command()
def ingest(
    model: ModelOption,
    logical_date: DateOption,
    file: Annotated[str | None, typer.Option(help="Batch URI; default: the landing area.")] = None,
) -> None:
    """Copy a landed batch into bronze, unchanged (append-only; the same batch twice is a no-op)."""
    from pipelines.ingest import ingest_batch, landing_uri

    platform, config, lakehouse = _context(model)
    day = logical_date.date()
    result = ingest_batch(lakehouse, config, day, file or landing_uri(platform, config, day))
    state = "ingested" if result.bronze.written else "already ingested"
    typer.echo(f"{state}: batch {result.batch_id} -> {result.bronze.uri}")


@app.command()
def validate(
    model: ModelOption,
    logical_date: DateOption,
    batch: Annotated[str | None, typer.Option(help="Batch id; default: the newest of the date.")] = None,
) -> None:
    """Validate a bronze batch with Great Expectations: to silver if it passes, else quarantine."""
    from pipelines.validate import validate_batch

    _, config, lakehouse = _context(model)
    outcome = validate_batch(lakehouse, config, logical_date.date(), batch_id=batch)
    state = "validated" if outcome.silver.written else "already validated"
    typer.echo(f"{state}: batch {outcome.batch_id} -> {outcome.silver.uri}")
    typer.echo(f"validation result: {outcome.validation_uri}")


@app.command()
def gold(model: ModelOption, logical_date: DateOption) -> None:
    """Compute the gold features as of a logical date from the silver history up to it."""
    from pipelines.gold import build_gold_partition

    _, config, lakehouse = _context(model)
    published = build_gold_partition(lakehouse, config, logical_date.date())
    typer.echo(f"{'built' if published.written else 'already built'}: {published.uri}")


features_app = typer.Typer(help="Feast: register feature definitions, fill the online store.")
datasets_app = typer.Typer(help="Training and test sets, named by their content.")
app.add_typer(features_app, name="features")
app.add_typer(datasets_app, name="datasets")
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
RunOption = Annotated[str, typer.Option("--run-id", help="MLflow run id from `conveyor train`.")]


def _emit(result: dict[str, Any], as_json: bool, human: str) -> None:
    """Print the step's result; also write it where an orchestrator collects results
    (``CONVEYOR_RESULT_FILE``, e.g. KubernetesPodOperator's XCom file)."""
    typer.echo(json.dumps(result, default=str) if as_json else human)
    result_file = os.environ.get("CONVEYOR_RESULT_FILE")
    if result_file:
        Path(result_file).parent.mkdir(parents=True, exist_ok=True)
        Path(result_file).write_text(json.dumps(result, default=str))


def _mlflow(platform: PlatformConfig) -> MlflowClient:
    from pipelines.registry import mlflow_client

    return mlflow_client(platform)


@features_app.command("apply")
def features_apply(model: ModelOption) -> None:
    """Register the source's Feast entities, views and services; check the model's features."""
    from pipelines.features import apply_features, feature_store

    platform, config, lakehouse = _context(model)
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

    platform, config, _ = _context(model)
    materialize_features(feature_store(platform), config, start.date(), end.date())
    typer.echo(f"materialized target days {start.date()} .. {end.date()}")


@datasets_app.command("build")
def datasets_build(model: ModelOption, as_of: DateOption, as_json: JsonOption = False) -> None:
    """Build the training and test sets as of a logical date (reused if they exist)."""
    from pipelines.datasets import build_datasets
    from pipelines.features import feature_store

    platform, config, lakehouse = _context(model)
    train_ref, test_ref = build_datasets(lakehouse, feature_store(platform), config, as_of.date())
    result = {"train": train_ref.to_dict(), "test": test_ref.to_dict()}
    _emit(
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

    platform, config, lakehouse = _context(model)
    referenced = referenced_datasets(_mlflow(platform), config.name)
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

    platform, config, lakehouse = _context(model)
    try:
        overrides = {**json.loads(params_json), **_parse_overrides(param or [])}
    except (json.JSONDecodeError, TypeError):
        raise ConfigError(
            f'--params-json {params_json!r} is not a JSON object like {{"epochs": 12}}'
        ) from None
    run_id = train_step(
        platform,
        config,
        _mlflow(platform),
        lakehouse,
        train_uri=train_dataset,
        test_uri=test_dataset,
        as_of=as_of.date(),
        trigger_reason=reason,
        dag_run_id=dag_run_id,
        overrides=overrides,
    )
    _emit({"run_id": run_id}, as_json, f"trained: run {run_id}")


@app.command()
def evaluate(model: ModelOption, run_id: RunOption, as_json: JsonOption = False) -> None:
    """Score the run's test set: metrics overall and per slice, predictions as a dataset."""
    from pipelines.training import evaluate as evaluate_step

    platform, config, lakehouse = _context(model)
    result = evaluate_step(platform, config, _mlflow(platform), lakehouse, run_id)
    numbers = {k: round(v, 3) for k, v in result.evaluation.overall.items()}
    _emit(
        {"metrics": result.evaluation.overall, "predictions": result.predictions.to_dict()},
        as_json,
        f"metrics: {numbers}\npredictions: {result.predictions.uri}",
    )


@app.command()
def gate(model: ModelOption, run_id: RunOption, as_json: JsonOption = False) -> None:
    """Decide whether the run may replace the champion (report written and logged)."""
    from pipelines.promotion import gate as gate_step

    platform, config, _ = _context(model)
    decision = gate_step(platform, config, _mlflow(platform), run_id)
    lines = [f"gate ({decision.kind}, mode {decision.mode}): {decision.summary}"]
    lines += [f"  {'ok  ' if c.passed else 'FAIL'} {c.detail}" for c in decision.checks]
    _emit(decision.to_dict(), as_json, "\n".join(lines))


@app.command()
def register(model: ModelOption, run_id: RunOption, as_json: JsonOption = False) -> None:
    """Register the run's model as a new version with its lineage; alias it challenger."""
    from pipelines.promotion import register as register_step

    platform, config, _ = _context(model)
    version = register_step(config, _mlflow(platform), run_id)
    _emit({"version": version}, as_json, f"registered {config.name} version {version} (challenger)")


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

    platform, config, _ = _context(model)
    if force and not (requested_by and reason):
        raise ConfigError("--force needs --requested-by and --reason: a forced promotion is recorded")
    moved = promote_version(
        platform,
        config,
        _mlflow(platform),
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

    platform, config, _ = _context(model)
    moved = rollback_step(_mlflow(platform), platform, config.name, version)
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

    record = read_lineage(_mlflow(load_platform_config()), reference)
    human = [f"{record['model']} version {record['version']} {record['aliases']}  run {record['run_id']}"]
    human += [f"  {k}: {v}" for k, v in record["lineage"].items()]
    human += [f"  gate: {record['gate'].get('summary', '')}"]
    human += [f"  {k}: {v:.3f}" for k, v in record["metrics"].items()]
    _emit(record, as_json, "\n".join(human))


@app.command("retrain-from-lineage")
def retrain_from_lineage(
    reference: Annotated[str, typer.Argument(help="<model>@<version> or <model>@champion")],
) -> None:
    """Train again from a version's recorded config, data and seed; compare the metrics."""
    from pipelines.config import load_platform_config
    from pipelines.cycle import retrain_from_lineage as reproduce
    from pipelines.storage import Lakehouse

    platform = load_platform_config()
    result = reproduce(platform, _mlflow(platform), Lakehouse(platform.lakehouse_uri), reference)
    typer.echo(f"reproduced {result.reference} as run {result.run_id}")
    for key, value in result.original.items():
        typer.echo(f"  {key}: recorded {value!r}, now {result.reproduced[key]!r}")
    typer.echo("metrics match exactly" if result.matches else "metrics DIFFER")
    if not result.matches:
        raise typer.Exit(1)


monitor_app = typer.Typer(help="Watch the champion: live error and data drift.")
app.add_typer(monitor_app, name="monitor")


def _print_check(result: CheckResult, as_json: bool) -> None:
    value = "no data yet" if result.value is None else f"{result.value:.3f}"
    human = (
        f"{result.check} of {result.model} v{result.champion_version} as of {result.as_of}: {value}"
        f" (threshold {result.threshold}, {result.rows} rows) -> "
        + ("RETRAIN" if result.should_retrain else "cooldown" if result.breached else "ok")
        + f"\nreport: {result.report_uri}"
    )
    _emit(result.to_dict(), as_json, human)


@monitor_app.command("performance")
def monitor_performance(model: ModelOption, as_of: DateOption, as_json: JsonOption = False) -> None:
    """The champion's error over the recent window, against actuals reported since."""
    from pipelines.monitor import check_performance

    platform, config, lakehouse = _context(model)
    _print_check(check_performance(platform, config, lakehouse, _mlflow(platform), as_of.date()), as_json)


@monitor_app.command("drift")
def monitor_drift(
    model: ModelOption,
    as_of: DateOption,
    window_days: Annotated[int, typer.Option(min=1, help="Days of features to compare.")] = 7,
    as_json: JsonOption = False,
) -> None:
    """Evidently drift of the recent features against the champion's test set."""
    from pipelines.monitor import check_drift

    platform, config, lakehouse = _context(model)
    result = check_drift(
        platform, config, lakehouse, _mlflow(platform), as_of.date(), window_days=window_days
    )
    _print_check(result, as_json)


@app.command()
def demo(
    model: ModelOption = "freight_volume",
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First service day.")] = datetime(
        2024, 1, 1
    ),
    days: Annotated[int, typer.Option(min=1)] = 120,
) -> None:
    """Run the main job end to end on the embedded default and say where everything is."""
    from pipelines.demo import run_demo

    run_demo(model, start.date(), days)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("conveyor").setLevel(logging.INFO)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    try:
        app()
    except ConveyorError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
