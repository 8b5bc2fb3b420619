"""Feature commands: Feast definitions and the online store, training and test sets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from pipelines.cli.common import DateOption, JsonOption, ModelOption, app, emit, load_context, tracking_client
from pipelines.errors import ConfigError

features_app = typer.Typer(help="Feast: register feature definitions, fill the online store.")


datasets_app = typer.Typer(help="Training and test sets, named by their content.")
app.add_typer(features_app, name="features")
app.add_typer(datasets_app, name="datasets")


@features_app.command("apply")
def features_apply(model: ModelOption) -> None:
    """Register the source's Feast entities, views and services; check the model's features."""
    from pipelines.features.store import apply_features, feature_store

    platform, config, lakehouse = load_context(model)
    names = apply_features(feature_store(platform), config, lakehouse)
    typer.echo(f"applied: {', '.join(names)}")


@features_app.command("materialize")
def features_materialize(
    model: ModelOption,
    logical_date: Annotated[
        datetime | None,
        typer.Option("--logical-date", "-d", formats=["%Y-%m-%d"], help="Gold day: load its target day."),
    ] = None,
    start: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First target day.")] = None,
    end: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Day after the last.")] = None,
) -> None:
    """Load gold rows into the online store: those of one gold day (--logical-date, the
    target day its features are for), or of an explicit window of target days (--start,
    --end). Never Feast's incremental watermark: reruns and backfills load what they name."""
    from pipelines.features.store import feature_store, materialize_features, materialize_window

    platform, config, _ = load_context(model)
    if (logical_date is None) == (start is None or end is None):
        raise ConfigError("name either --logical-date, or both --start and --end")
    if logical_date is not None:
        first, last = materialize_window(config, logical_date.date(), logical_date.date())
    else:
        assert start is not None and end is not None
        first, last = start.date(), end.date()
    materialize_features(feature_store(platform), config, first, last)
    typer.echo(f"materialized target days {first} .. {last}")


@datasets_app.command("build")
def datasets_build(model: ModelOption, as_of: DateOption, as_json: JsonOption = False) -> None:
    """Build the training and test sets as of a logical date (reused if they exist)."""
    from pipelines.features.datasets import build_datasets
    from pipelines.features.store import feature_store

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
    """Drop datasets that no registered version or running training refers to, and not
    written within the last hour."""
    from pipelines.features.datasets import cleanup_datasets
    from pipelines.release.registry import referenced_datasets

    platform, config, lakehouse = load_context(model)
    referenced = referenced_datasets(tracking_client(platform), config.name)
    dropped = cleanup_datasets(lakehouse, config.name, referenced, dry_run=not delete)
    verb = "deleted" if delete else "would delete (pass --delete)"
    typer.echo(f"{verb} {len(dropped)} unreferenced datasets" + "".join(f"\n  {u}" for u in dropped))
