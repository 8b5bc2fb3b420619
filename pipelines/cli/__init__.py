"""``conveyor``: one command per pipeline step. Airflow runs these same commands.

Every command takes ``--model <name>`` (a file in ``configs/models/``) and, where it works
on a partition, ``--logical-date YYYY-MM-DD``. Errors print what went wrong and how to fix
it, and exit non-zero: 2 config, 3 conflict with published data, 4 missing input,
5 batch rejected by validation, 6 the champion moved since evaluation, 7 a version
blocked by its gates, 8 the model registry unreachable (retryable).
"""

from __future__ import annotations

import logging
import sys

import typer

from pipelines.cli import data, model, monitoring, serving, weights  # noqa: F401  (each registers its commands)
from pipelines.cli.common import app
from pipelines.errors import ConveyorError

__all__ = ["app", "main"]


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("conveyor").setLevel(logging.INFO)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    try:
        app()
    except ConveyorError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
