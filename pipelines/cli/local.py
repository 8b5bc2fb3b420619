"""The local harness: the demo, and reproduction of a version from its lineage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from pipelines.cli.common import ModelOption, app, tracking_client


@app.command()
def demo(
    model: ModelOption = "freight_volume",
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First service day.")] = datetime(
        2024, 1, 1
    ),
    days: Annotated[int, typer.Option(min=1)] = 120,
) -> None:
    """Run the main job end to end on the embedded default and say where everything is."""
    from pipelines.local.demo import run_demo

    run_demo(model, start.date(), days)


@app.command("retrain-from-lineage")
def retrain_from_lineage(
    reference: Annotated[str, typer.Argument(help="<model>@<version> or <model>@champion")],
) -> None:
    """Train again from a version's recorded config, data and seed; compare the metrics."""
    from pipelines.config.load import load_platform_config
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.local.cycle import retrain_from_lineage as reproduce

    platform = load_platform_config()
    result = reproduce(platform, tracking_client(platform), Lakehouse(platform.lakehouse_uri), reference)
    typer.echo(f"reproduced {result.reference} as run {result.run_id}")
    for key, value in result.original.items():
        typer.echo(f"  {key}: recorded {value!r}, now {result.reproduced[key]!r}")
    typer.echo("metrics match exactly" if result.matches else "metrics DIFFER")
    if not result.matches:
        raise typer.Exit(1)
