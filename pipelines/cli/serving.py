"""Serving commands: the prediction service, and the actuals that measure it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from pipelines.cli.common import DateOption, JsonOption, ModelOption, app, emit, load_context

actuals_app = typer.Typer(help="Actuals: what really happened, for live performance.")
app.add_typer(actuals_app, name="actuals")


@app.command("serve")
def serve(
    model: ModelOption,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    online: Annotated[bool, typer.Option(help="Read features from the online store.")] = True,
) -> None:
    """Serve the model's champion over HTTP, following the alias, logging every prediction."""
    import uvicorn

    from pipelines.serving.app import service

    platform, config, _ = load_context(model)
    typer.echo(f"serving {config.name}@champion on http://{host}:{port} (POST /predict, GET /metrics)")
    # SIGTERM stops the server gracefully: the app's shutdown writes the prediction buffer.
    uvicorn.run(service(platform, config, online=online), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=30)  # fmt: skip


@actuals_app.command("ingest")
def actuals_ingest(
    model: ModelOption,
    as_of: DateOption,
    file: Annotated[str | None, typer.Option(help="CSV or Parquet of actuals; default: silver.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Load the actuals reported recently into the prediction log's database."""
    from pipelines.actuals import ingest_actuals
    from pipelines.serving.log import PredictionLog

    platform, config, lakehouse = load_context(model)
    loaded = ingest_actuals(
        PredictionLog(platform.serving.prediction_log_url), lakehouse, config, as_of.date(), file
    )
    emit(asdict(loaded), as_json, f"{loaded.rows} actuals of {loaded.model} for {loaded.first_day} .. "
         f"{loaded.last_day} loaded from {loaded.source}")  # fmt: skip
