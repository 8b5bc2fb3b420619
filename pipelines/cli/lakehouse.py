"""Lakehouse commands: ingest, validate, gold, and backfill (all three for many days)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
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


@app.command()
def backfill(
    model: ModelOption,
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First logical date.")],
    days: Annotated[int, typer.Option(min=1, help="Number of logical dates from --start.")] = 1,
) -> None:
    """Ingest, validate and build gold for landed days in one process: a history loaded at
    once, where the ingest DAG takes a run a day. Stops at the first rejected batch."""
    from pipelines.local.backfill import process_landed_days

    platform, config, lakehouse = load_context(model)
    dates = [start.date() + timedelta(days=offset) for offset in range(days)]

    def progress(number: int, day: date) -> None:
        if number % 10 == 0 or number == days:
            typer.echo(f"  {number}/{days} days: {day} through bronze, silver and gold")

    process_landed_days(platform, config, lakehouse, dates, progress=progress)
    typer.echo(f"backfilled {config.source.name} {dates[0]} .. {dates[-1]} into gold")
