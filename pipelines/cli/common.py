"""What every command shares: the app, its options, and how results are printed."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipelines.errors import conveyor_errors

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig
    from pipelines.lakehouse.storage import Lakehouse


def _exit_codes() -> str:
    lines = [f"{cls.exit_code}: {(cls.__doc__ or '').split('.')[0]}" for cls in conveyor_errors()[1:]]
    return "Exit codes:\n\n" + "\n\n".join(lines)


app = typer.Typer(
    name="conveyor",
    help="Conveyor: data in, champion model out, kept fresh. Each command is one pipeline step.",
    epilog=_exit_codes(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ModelOption = Annotated[
    str, typer.Option("--model", "-m", help="Model config name (configs/models/<name>.yaml).")
]
DateOption = Annotated[
    datetime,
    typer.Option("--logical-date", "-d", formats=["%Y-%m-%d"], help="Partition to work on."),
]


def load_context(model: str) -> tuple[PlatformConfig, ModelConfig, Lakehouse]:
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.lakehouse.storage import Lakehouse

    platform = load_platform_config()
    return platform, load_model_config(model), Lakehouse(platform.lakehouse_uri)


JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
RunOption = Annotated[str, typer.Option("--run-id", help="MLflow run id from `conveyor train`.")]


def emit(result: dict[str, Any], as_json: bool, human: str) -> None:
    """Print the step's result; also write it where an orchestrator collects results
    (``CONVEYOR_RESULT_FILE``, e.g. KubernetesPodOperator's XCom file)."""
    typer.echo(json.dumps(result, default=str) if as_json else human)
    result_file = os.environ.get("CONVEYOR_RESULT_FILE")
    if result_file:
        Path(result_file).parent.mkdir(parents=True, exist_ok=True)
        Path(result_file).write_text(json.dumps(result, default=str))


def tracking_client(platform: PlatformConfig) -> MlflowClient:
    from pipelines.training.tracking import mlflow_client

    return mlflow_client(platform)
