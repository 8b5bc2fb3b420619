"""Registered versions of a model as the Models view shows them: metrics, gate decision,
why and by which DAG run each was trained, and the history of champion changes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, get_args

import fsspec

from pipelines.config.model import MetricName
from pipelines.release.registry import ALIASES, CHAMPION_HISTORY, alias_version
from pipelines.training.lineage import from_tags

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.platform import PlatformConfig

GATE_FIELDS = ("promote", "kind", "mode", "summary", "champion_version", "report")
# The overall test metrics; a run also holds per-slice ones and per-epoch training numbers.
TEST_METRICS = get_args(MetricName)


def version_summaries(client: MlflowClient, model: str) -> list[dict[str, Any]]:
    """Every registered version of ``model``, oldest first; [] when it has none. A registry
    that does not answer raises: an outage must not read as "no versions"."""
    found = client.search_model_versions(f"name='{model}'")
    aliases = {alias: alias_version(client, model, alias) for alias in ALIASES}
    summaries = [_summary(client, version, aliases) for version in found]
    return sorted(summaries, key=lambda summary: int(summary["version"]))


def _summary(client: MlflowClient, version: Any, aliases: dict[str, str | None]) -> dict[str, Any]:
    number = str(version.version)
    fields = from_tags(dict(version.tags))
    run = client.get_run(str(version.run_id))
    return {
        "version": number,
        "aliases": [alias for alias, points_at in aliases.items() if points_at == number],
        "created_at": _iso(version.creation_timestamp),
        "run_id": str(version.run_id),
        "experiment_id": str(run.info.experiment_id),
        "metrics": {k: v for k, v in run.data.metrics.items() if k in TEST_METRICS},
        "gate": {key: fields.get(f"gate.{key}", "") for key in GATE_FIELDS},
        "trigger_reason": fields.get("trigger_reason", ""),
        "dag_run_id": fields.get("dag_run_id", ""),
        "as_of": fields.get("as_of", ""),
        "forced_by": fields.get("forced_by", ""),
        "forced_reason": fields.get("forced_reason", ""),
        # A canary or shadow release: its strategy, share, the champion beside it, the decision.
        "release": {k.removeprefix("release."): v for k, v in fields.items() if k.startswith("release.")},
        "has_card": bool(fields.get("card")),
    }


def champion_history(platform: PlatformConfig, model: str) -> list[dict[str, Any]]:
    """Champion changes, oldest first, from the append-only record promotion and rollback
    keep (``registry.record_champion_move``); [] before the first one."""
    uri = f"{platform.reports_uri}/{model}/{CHAMPION_HISTORY}"
    fs, path = fsspec.core.url_to_fs(uri)
    if not fs.exists(path):
        return []
    with fs.open(path, "r") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _iso(milliseconds: int | None) -> str:
    from datetime import UTC, datetime

    if not milliseconds:
        return ""
    return datetime.fromtimestamp(milliseconds / 1000, UTC).isoformat(timespec="seconds")
