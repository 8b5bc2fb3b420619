"""Release commands: gate, register, promote, rollback, lineage."""

from __future__ import annotations

from typing import Annotated

import typer

from pipelines.cli.common import JsonOption, ModelOption, RunOption, app, emit, load_context, tracking_client
from pipelines.errors import ConfigError


@app.command()
def gate(model: ModelOption, run_id: RunOption, as_json: JsonOption = False) -> None:
    """Decide whether the run may replace the champion (report written and logged)."""
    from pipelines.release.gate import gate_model as gate_step

    platform, config, _ = load_context(model)
    decision = gate_step(platform, config, tracking_client(platform), run_id)
    lines = [f"gate ({decision.kind}, mode {decision.mode}): {decision.summary}"]
    lines += [f"  {'ok  ' if c.passed else 'FAIL'} {c.detail}" for c in decision.checks]
    emit(decision.to_dict(), as_json, "\n".join(lines))


@app.command()
def register(model: ModelOption, run_id: RunOption, as_json: JsonOption = False) -> None:
    """Register the run's model as a new version with its lineage; alias it challenger."""
    from pipelines.release.register import register_model as register_step

    platform, config, _ = load_context(model)
    version = register_step(platform, config, tracking_client(platform), run_id)
    emit({"version": version}, as_json, f"registered {config.name} version {version} (challenger)")


@app.command()
def promote(
    model: ModelOption,
    version: Annotated[str, typer.Option(help="Model version to make champion.")],
    force: Annotated[
        bool, typer.Option("--force/--no-force", help="Promote although the gate said no.")
    ] = False,
    requested_by: Annotated[str | None, typer.Option(help="Who forces (with --force).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (with --force).")] = None,
) -> None:
    """Make a version champion if its gate passed (compare-and-set against the champion it
    was evaluated against)."""
    from pipelines.release.promote import promote_model

    platform, config, _ = load_context(model)
    if force and not (requested_by and reason):
        raise ConfigError("--force needs --requested-by and --reason: a forced promotion is recorded")
    moved = promote_model(
        platform,
        config,
        tracking_client(platform),
        version,
        forced_by=requested_by if force else None,
        forced_reason=reason if force else None,
    )
    typer.echo(f"{config.name}: champion {moved.previous} -> {moved.version}")


@app.command()
def rollback(
    model: ModelOption, version: Annotated[str, typer.Option(help="Earlier version to restore.")]
) -> None:
    """Point champion at an earlier version; serving follows."""
    from pipelines.release.rollback import rollback_champion as rollback_step

    platform, config, _ = load_context(model)
    moved = rollback_step(tracking_client(platform), platform, config.name, version)
    typer.echo(f"{config.name}: champion {moved.previous} -> {moved.version} (rollback)")


@app.command()
def lineage(
    reference: Annotated[
        str, typer.Argument(help="<model>@champion, <model>@challenger or <model>@<version>")
    ],
    as_json: JsonOption = False,
) -> None:
    """Everything a model version came from: code, config, data, validation, trigger, run."""
    from pipelines.config.load import load_platform_config
    from pipelines.release.registry import read_lineage as read_lineage

    record = read_lineage(tracking_client(load_platform_config()), reference)
    human = [f"{record['model']} version {record['version']} {record['aliases']}  run {record['run_id']}"]
    human += [f"  {k}: {v}" for k, v in record["lineage"].items()]
    human += [f"  gate: {record['gate'].get('summary', '')}"]
    human += [f"  {k}: {v:.3f}" for k, v in record["metrics"].items()]
    emit(record, as_json, "\n".join(human))
