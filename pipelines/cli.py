"""``conveyor``: one command per pipeline step. Airflow runs these same commands.

Every command takes ``--model <name>`` (a file in ``configs/models/``) and, where it works
on a partition, ``--logical-date YYYY-MM-DD``. Errors print what went wrong and how to fix
it, and exit non-zero: 2 config, 3 conflict with published data, 4 missing input,
5 batch rejected by validation.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.errors import ConveyorError

if TYPE_CHECKING:
    from pipelines.config import ModelConfig, PlatformConfig
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
    batch: Annotated[
        str | None, typer.Option(help="Batch id; default: the newest of the date.")
    ] = None,
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


@app.command()
def demo(
    model: ModelOption = "freight_volume",
    start: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="First service day.")
    ] = datetime(2024, 1, 1),
    days: Annotated[int, typer.Option(min=1)] = 120,
) -> None:
    """Run the main job end to end on the embedded default and say where everything is."""
    from pipelines.demo import run_demo

    run_demo(model, start.date(), days)


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("conveyor").setLevel(logging.INFO)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    try:
        app()
    except ConveyorError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
