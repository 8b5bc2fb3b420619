"""Sample data: generate batches of a source into the landing area."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from pipelines.cli.common import ModelOption, app, load_context


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
    from pipelines.samples.generate import generate_batches

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
