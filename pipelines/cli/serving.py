"""Serving commands: the prediction service, and the actuals that measure it."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli.common import ModelOption, app, load_context


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
