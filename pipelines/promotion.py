"""Gate, register, promote: the steps that decide which model version is in production."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import fsspec

from pipelines.datasets import feature_columns, read_dataset
from pipelines.errors import ConfigError, ConveyorError, RegistryUnavailableError
from pipelines.gates import GateDecision, decide
from pipelines.lineage import TAG, from_tags
from pipelines.registry import CHAMPION, AliasMove, alias_version, promote, register_version

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config import ModelConfig, PlatformConfig

log = logging.getLogger("conveyor.promotion")
GATE_REPORT = "gate_report.json"


class GateBlockedError(ConveyorError):
    """The version did not pass its gates; promoting it needs --force with a reason."""

    exit_code = 7


def gate(platform: PlatformConfig, config: ModelConfig, client: MlflowClient, run_id: str) -> GateDecision:
    """Decide whether the run's model may replace the current champion.

    Reads the run's test predictions (``evaluate`` must have run); scores the same test set
    with the champion, if there is one. Writes the decision to a JSON report, to the run's
    artifacts and to its tags.
    """
    import mlflow

    fields = from_tags(dict(client.get_run(run_id).data.tags))
    if "predictions_dataset_uri" not in fields:
        raise ConveyorError(
            f"run {run_id} has no test predictions; run `conveyor evaluate --run-id {run_id}` first"
        )
    scored = read_dataset(fields["predictions_dataset_uri"])
    champion = alias_version(client, config.name, CHAMPION)
    champion_prediction = None
    if champion is not None:
        model = mlflow.pyfunc.load_model(f"models:/{config.name}@{CHAMPION}")
        champion_prediction = model.predict(scored[feature_columns(config)]).astype("float64")
    decision = decide(config, scored, champion_version=champion, champion_prediction=champion_prediction)

    report = json.dumps({"model": config.name, "run_id": run_id, **decision.to_dict()}, indent=2)
    report_uri = f"{platform.reports_uri}/{config.name}/gate-{run_id}.json"
    with fsspec.open(report_uri, "w", auto_mkdir=True) as out:
        out.write(report)
    client.log_text(run_id, report, GATE_REPORT)
    tags = {
        "gate.promote": str(decision.promote).lower(),
        "gate.kind": decision.kind,
        "gate.mode": decision.mode,
        "gate.summary": decision.summary[:4000],
        "gate.champion_version": decision.champion_version or "",
        "gate.report": report_uri,
    }
    for key, value in tags.items():
        client.set_tag(run_id, f"{TAG}{key}", value)
    log.info(
        "%s run %s gate (%s, %s): %s",
        config.name,
        run_id,
        decision.kind,
        decision.mode,
        decision.summary,
    )
    return decision


def register(platform: PlatformConfig, config: ModelConfig, client: MlflowClient, run_id: str) -> str:
    """Register the run's model as a new version (alias ``challenger``) with its lineage."""
    from mlflow.exceptions import MlflowException, RestException

    try:
        run = client.get_run(run_id)
        tags = {k: v for k, v in run.data.tags.items() if k.startswith(TAG)}
        if f"{TAG}gate.promote" not in tags:
            raise ConveyorError(f"run {run_id} has not been through its gates; run `conveyor gate` first")
        return register_version(client, platform, config.name, tags[f"{TAG}model_uri"], run_id, tags)
    except RestException:
        raise  # the registry answered, with an error of its own: not an outage
    except (MlflowException, OSError) as error:  # refused, timed out, or failing after retries
        reason = str(error).splitlines()[0][:300]
        raise RegistryUnavailableError(
            f"the model registry at {client.tracking_uri} failed: {reason}. Run {run_id} is not"
            " registered as challenger and the champion is unchanged; registering again is safe"
            " (it finds the run's version if one was created)."
        ) from error


def promote_version(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    version: str,
    *,
    forced_by: str | None = None,
    forced_reason: str | None = None,
) -> AliasMove:
    """Make ``version`` the champion if its gate said so (or it is forced, with who and why).

    Compare-and-set: fails with PromotionConflictError if the champion is no longer the
    version the gate compared against. Raises GateBlockedError for a blocked version.
    """
    if (forced_by is None) != (forced_reason is None):
        raise ConfigError("a forced promotion needs both --requested-by and --reason")
    fields = from_tags(dict(client.get_model_version(config.name, version).tags))
    if fields.get("gate.promote") != "true":
        if forced_by is None:
            raise GateBlockedError(
                f"{config.name} version {version} did not pass its gates"
                f" ({fields.get('gate.summary', 'no gate')});"
                " to promote it anyway use --force --requested-by NAME --reason WHY"
            )
        client.set_model_version_tag(config.name, version, f"{TAG}forced_by", forced_by)
        client.set_model_version_tag(config.name, version, f"{TAG}forced_reason", forced_reason or "")
        log.warning(
            "%s version %s: forced promotion by %s: %s",
            config.name,
            version,
            forced_by,
            forced_reason,
        )
    expected = fields.get("gate.champion_version") or None
    return promote(client, platform, config.name, version, expected_champion=expected)
