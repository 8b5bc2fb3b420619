"""One model's page of the Models view: its champion, candidate in release and challenger, every version, the
monitor's latest results and their history, and the champion's changes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.config.model import RANKING_METRICS
from pipelines.monitor.history import check_history
from pipelines.ui.versions import champion_history, version_summaries

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig


def model_view(platform: PlatformConfig, config: ModelConfig, client: MlflowClient) -> dict[str, Any]:
    """Everything the Models view shows about ``config``'s model, as plain JSON-ready data.

    Reads the registry through ``client`` and the reports folder; writes nothing. A model
    with no version yet, or no monitoring yet, has empty lists and None where a version or a
    result would be."""
    versions = version_summaries(client, config.name)
    by_alias = {alias: v for v in versions for alias in v["aliases"]}
    checks = check_history(platform.reports_uri, config.name)
    return {
        "model": config.name,
        "description": config.description,
        "owner": config.owner,
        "dags": {kind: f"{config.name}__{kind}" for kind in ("train", "rollback", "monitor", "ingest")},
        "gate_metric": {
            "name": config.gates.metric,
            "business_threshold": config.gates.business_threshold,
            "higher_is_better": config.gates.metric in RANKING_METRICS,
        },
        "live_metric": config.triggers.performance.metric,
        "champion": by_alias.get("champion"),
        "candidate": by_alias.get("candidate"),
        "challenger": by_alias.get("challenger"),
        "versions": versions,
        "monitoring": {
            check: {"latest": points[-1] if points else None, "history": points}
            for check, points in checks.items()
        },
        "champion_history": champion_history(platform, config.name),
    }
