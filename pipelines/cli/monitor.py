"""Monitoring commands: the champion's live performance and data drift."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.cli.common import DateOption, JsonOption, ModelOption, app, emit, load_context, tracking_client

if TYPE_CHECKING:
    from pipelines.monitor.checks import CheckResult

monitor_app = typer.Typer(help="Watch the champion: live error, data drift, its config file.")
app.add_typer(monitor_app, name="monitor")


def _print_check(result: CheckResult, as_json: bool) -> None:
    value = "no data yet" if result.value is None else f"{result.value:.3f}"
    human = (
        f"{result.check} of {result.model} v{result.champion_version} as of {result.as_of}: {value}"
        f" (threshold {result.threshold}, {result.rows} rows) -> "
        + ("RETRAIN" if result.should_retrain else f"no retrain: {result.why}" if result.breached else "ok")
        + f"\nreport: {result.report_uri}"
    )
    emit(result.to_dict(), as_json, human)


@monitor_app.command("performance")
def monitor_performance(model: ModelOption, as_of: DateOption, as_json: JsonOption = False) -> None:
    """The champion's live error: its served predictions against the actuals ingested."""
    from pipelines.monitor.performance import check_performance

    platform, config, _ = load_context(model)
    _print_check(check_performance(platform, config, tracking_client(platform), as_of.date()), as_json)


@monitor_app.command("drift")
def monitor_drift(
    model: ModelOption,
    as_of: DateOption,
    window_days: Annotated[int, typer.Option(min=1, help="Days of requests to compare.")] = 7,
    as_json: JsonOption = False,
) -> None:
    """Evidently drift of what the service was asked (and answered) against the champion's
    test set (and test predictions)."""
    from pipelines.monitor.drift import check_drift

    platform, config, lakehouse = load_context(model)
    result = check_drift(
        platform, config, lakehouse, tracking_client(platform), as_of.date(), window_days=window_days
    )
    _print_check(result, as_json)


@monitor_app.command("config")
def monitor_config(model: ModelOption, as_of: DateOption, as_json: JsonOption = False) -> None:
    """Has the model's config file changed since its champion was trained from it (and
    not been trained since)? Prints the diff; RETRAIN when a training should run."""
    from pipelines.monitor.config_change import check_config

    platform, config, _ = load_context(model)
    result = check_config(platform, config, tracking_client(platform), as_of.date())
    human = (
        f"config of {result.model} v{result.champion_version} as of {result.as_of}: {result.why} -> "
        + ("RETRAIN" if result.should_retrain else "ok")
        + (f"\n{result.diff}" if result.diff else "")
        + f"\nreport: {result.report_uri}"
    )
    emit(result.to_dict(), as_json, human)


actuals_app = typer.Typer(help="Actuals: what really happened, for live performance.")
app.add_typer(actuals_app, name="actuals")


@actuals_app.command("ingest")
def actuals_ingest(
    model: ModelOption,
    as_of: DateOption,
    file: Annotated[str | None, typer.Option(help="CSV or Parquet of actuals; default: silver.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Load the actuals reported recently into the prediction log's database."""
    from pipelines.monitor.actuals import ingest_actuals
    from pipelines.serving.log import PredictionLog

    platform, config, lakehouse = load_context(model)
    loaded = ingest_actuals(
        PredictionLog(platform.serving.prediction_log_url), lakehouse, config, as_of.date(), file
    )
    emit(asdict(loaded), as_json, f"{loaded.rows} actuals of {loaded.model} for {loaded.first_day} .. "
         f"{loaded.last_day} loaded from {loaded.source}")  # fmt: skip
