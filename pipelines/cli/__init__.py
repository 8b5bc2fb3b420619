"""``conveyor``: one command per pipeline step. Airflow runs these same commands.

Every command takes ``--model <name>`` (a file in ``configs/models/``) and, where it works
on a partition, ``--logical-date YYYY-MM-DD``. Errors print what went wrong and how to fix
it, and exit with their code from ``pipelines.errors`` (``conveyor --help`` lists them).

A step is a fresh process, so what it imports is part of its time: commands import their
step's modules inside the function, and ``main`` makes Feast's import lean (``lean_feast``).
"""

from __future__ import annotations

import logging
import sys

import typer

from pipelines.cli import (  # noqa: F401  (each registers its commands)
    features,
    lakehouse,
    lean_feast,
    local,
    models,
    monitor,
    release,
    samples,
    serving,
    training,
)
from pipelines.cli.common import app
from pipelines.errors import ConveyorError

__all__ = ["app", "main"]


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("conveyor").setLevel(logging.INFO)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    lean_feast.install()  # before any command imports Feast; see its docstring
    try:
        app()
    except ConveyorError as error:
        typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
        sys.exit(error.exit_code)
