"""Data commands: generate, ingest, validate, gold, and the demo."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from pipelines.cli.common import DateOption, ModelOption, app, load_context


@app.command()
def generate(
    model: ModelOption,
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First service day.")],
    days: Annotated[int, typer.Option(min=1, help="Number of service days.")] = 120,
    routes: Annotated[
        int | None, typer.Option(min=1, help="freight: number of station pairs (default 40)")
    ] = None,
    queries: Annotated[
        int | None, typer.Option(min=1, help="search: queries in the pool (default 200)")
    ] = None,
    queries_per_day: Annotated[
        int | None, typer.Option(min=1, help="search: queries issued a day (default 40)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 0,
    shift: Annotated[
        str | None,
        typer.Option(help="freight: new_region | scale | new_stations; search: new_topics | language_mix"),
    ] = None,
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

    Sources with a generator: freight (sized by --routes) and search (--queries,
    --queries-per-day). Corruptions, aimed at the model's target and keys: nulls,
    negative_target, out_of_range_dates, renamed_column, retyped_column, duplicate_keys,
    empty_file, malformed_csv, huge_batch.
    """
    from pipelines.generate import generate_batches

    platform, config, _ = load_context(model)
    written = generate_batches(
        platform,
        config,
        start=start.date(),
        days=days,
        routes=routes,
        queries=queries,
        queries_per_day=queries_per_day,
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
    from pipelines.validate import validate_batch

    _, config, lakehouse = load_context(model)
    outcome = validate_batch(lakehouse, config, logical_date.date(), batch_id=batch)
    state = "validated" if outcome.silver.written else "already validated"
    typer.echo(f"{state}: batch {outcome.batch_id} -> {outcome.silver.uri}")
    typer.echo(f"validation result: {outcome.validation_uri}")


@app.command()
def gold(model: ModelOption, logical_date: DateOption) -> None:
    """Compute the gold features as of a logical date from the silver history up to it."""
    from pipelines.gold import build_gold_partition

    _, config, lakehouse = load_context(model)
    published = build_gold_partition(lakehouse, config, logical_date.date())
    typer.echo(f"{'built' if published.written else 'already built'}: {published.uri}")


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
