"""Release commands: gate, register, promote, rollback, lineage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pipelines.cli.common import (
    DateOption,
    JsonOption,
    ModelOption,
    RunOption,
    app,
    emit,
    load_context,
    tracking_client,
)
from pipelines.errors import ConfigError

if TYPE_CHECKING:
    from pipelines.monitor.release import ReleaseDecision


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
    from pipelines.ui.card import refresh_cards

    platform, config, _ = load_context(model)
    client = tracking_client(platform)
    version = register_step(platform, config, client, run_id)
    card = refresh_cards(platform, config, client, version).get(version, "")
    human = f"registered {config.name} version {version} (challenger); model card: {card or 'not written'}"
    emit({"version": version, "card": card}, as_json, human)


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
    from pipelines.ui.card import refresh_cards

    platform, config, _ = load_context(model)
    if force and not (requested_by and reason):
        raise ConfigError("--force needs --requested-by and --reason: a forced promotion is recorded")
    client = tracking_client(platform)
    moved = promote_model(
        platform,
        config,
        client,
        version,
        forced_by=requested_by if force else None,
        forced_reason=reason if force else None,
    )
    refresh_cards(platform, config, client, moved.version, moved.previous)
    if moved.alias == "candidate":
        typer.echo(f"{config.name}: version {moved.version} released as {config.release.strategy} candidate"
                   f" (champion unchanged; `conveyor release judge` decides from live results)")  # fmt: skip
    else:
        typer.echo(f"{config.name}: champion {moved.previous} -> {moved.version}")


@app.command()
def rollback(
    model: ModelOption, version: Annotated[str, typer.Option(help="Earlier version to restore.")]
) -> None:
    """Point champion at an earlier version; serving follows."""
    from pipelines.release.rollback import rollback_champion as rollback_step
    from pipelines.ui.card import refresh_cards

    platform, config, _ = load_context(model)
    client = tracking_client(platform)
    moved = rollback_step(client, platform, config.name, version)
    refresh_cards(platform, config, client, moved.version, moved.previous)
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


release_app = typer.Typer(
    help="A candidate in release (canary or shadow): judged by live results, or by hand."
)
app.add_typer(release_app, name="release")


def _print_release(decision: ReleaseDecision, as_json: bool) -> None:
    human = (
        f"{decision.model} candidate {decision.candidate_version} ({decision.strategy}) beside champion"
        f" {decision.champion_version} as of {decision.as_of}: {decision.outcome.upper()}, {decision.reason}"
        if decision.candidate_version
        else f"{decision.model}: {decision.reason}"
    )
    emit(
        decision.to_dict(),
        as_json,
        human + (f"\nreport: {decision.report_uri}" if decision.report_uri else ""),
    )


@release_app.command("judge")
def release_judge(model: ModelOption, as_of: DateOption, as_json: JsonOption = False) -> None:
    """Promote, roll back or keep waiting on the candidate, from its live results."""
    from pipelines.monitor.release import judge_candidate
    from pipelines.ui.card import refresh_cards

    platform, config, lakehouse = load_context(model)
    client = tracking_client(platform)
    decision = judge_candidate(platform, config, client, as_of.date(), lakehouse=lakehouse)
    if decision.outcome in ("promote", "roll back"):
        refresh_cards(platform, config, client, decision.candidate_version, decision.champion_version)
    _print_release(decision, as_json)


@release_app.command("decide")
def release_decide(
    model: ModelOption,
    promote: Annotated[
        bool, typer.Option("--promote/--abort", help="Promote the candidate now, or abort it.")
    ],
    requested_by: Annotated[str, typer.Option(help="Who decides.")],
    reason: Annotated[str, typer.Option(help="Why.")],
    as_json: JsonOption = False,
) -> None:
    """An operator's decision on the candidate, recorded with who and why."""
    from pipelines.monitor.release import decide_by_hand
    from pipelines.ui.card import refresh_cards

    platform, config, _ = load_context(model)
    client = tracking_client(platform)
    decision = decide_by_hand(
        platform, config, client, promote=promote, requested_by=requested_by, reason=reason
    )
    refresh_cards(platform, config, client, decision.candidate_version, decision.champion_version)
    _print_release(decision, as_json)
