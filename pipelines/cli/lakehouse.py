"""Lakehouse commands: ingest, validate, gold."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli.common import DateOption, ModelOption, app, load_context


@app.command()
def ingest(
    model: ModelOption,
    logical_date: DateOption,
    file: Annotated[str | None, typer.Option(help="Batch URI; default: the landing area.")] = None,
) -> None:
    """Copy a landed batch into bronze, unchanged (append-only; the same batch twice is a no-op)."""
    from pipelines.lakehouse.ingest import ingest_batch, landing_uri

    platform, config, lakehouse = load_context(model)
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
    from pipelines.lakehouse.validate import validate_batch

    _, config, lakehouse = load_context(model)
    outcome = validate_batch(lakehouse, config, logical_date.date(), batch_id=batch)
    state = "validated" if outcome.silver.written else "already validated"
    typer.echo(f"{state}: batch {outcome.batch_id} -> {outcome.silver.uri}")
    typer.echo(f"validation result: {outcome.validation_uri}")


@app.command()
def gold(model: ModelOption, logical_date: DateOption) -> None:
    """Compute the gold features as of a logical date from the silver history up to it."""
    from pipelines.lakehouse.gold import build_gold

    _, config, lakehouse = load_context(model)
    published = build_gold(lakehouse, config, logical_date.date())
    typer.echo(f"{'built' if published.written else 'already built'}: {published.uri}")
