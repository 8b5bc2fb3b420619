"""Gates: may this model version become the champion?

- First deploy (no champion yet): the metric must be better than the business threshold
  (below it for an error, above it for a ranking score).
- Retrain: the challenger must beat the champion on the gate's metric, on the same test
  set, by a margin whose paired bootstrap confidence interval excludes zero (rows are
  resampled for an error, result lists for a ranking score), and regress on no slice by
  more than ``slice_tolerance``. The business threshold still applies, unless the
  champion misses it too on the same test set (the data moved, e.g. a new, busier region
  came): keeping a champion that is worse on the same rows would serve everyone worse,
  and the live performance check still reports the error above its threshold.

Modes: ``enabled`` blocks on failure, ``dry_run`` reports but lets the model through,
``disabled`` skips the checks. A forced promotion (``conveyor promote --force``) overrides
a failed gate and records who asked and why on the version.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import fsspec

from pipelines.errors import ConveyorError
from pipelines.features.datasets import feature_columns, read_dataset
from pipelines.release.compare import Check, compare_models
from pipelines.release.config_diff import CONFIG_DIFF_ARTIFACT, diff_from_champion, logged_config
from pipelines.release.digest import DIGEST_TAG, load_verified
from pipelines.release.registry import CHAMPION, alias_version
from pipelines.training.lineage import TAG, from_tags
from pipelines.training.metrics import HIGHER_IS_BETTER, PREDICTION, evaluate_predictions, is_better

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from mlflow import MlflowClient

    from pipelines.config.model import GatesConfig, ModelConfig
    from pipelines.config.platform import PlatformConfig

log = logging.getLogger("conveyor.gate")


@dataclass(frozen=True)
class GateDecision:
    promote: bool
    kind: str  # first_deploy | champion_challenger
    mode: str
    checks: list[Check]
    champion_version: str | None = None
    summary: str = ""
    numbers: dict[str, float] = field(default_factory=dict)

    @property
    def checks_passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def threshold_check(metric: str, value: float, gates: GatesConfig, champion: float | None = None) -> Check:
    """The business threshold; ``champion``: the champion's value on the same test set."""
    threshold = gates.business_threshold
    if is_better(metric, value, threshold):
        relation = "above" if metric in HIGHER_IS_BETTER else "below"
        return Check(
            "business_threshold",
            True,
            f"{metric} {value:.3f} is {relation} the business threshold {threshold}",
        )
    missed = f"{metric} {value:.3f} is not better than the business threshold {threshold}"
    if champion is not None and not is_better(metric, champion, threshold):
        return Check("business_threshold", True, f"{missed}, and neither is the champion's {champion:.3f}"
                     " on the same test set (the data moved); the comparison with it decides")  # fmt: skip
    return Check("business_threshold", False, missed)


def champion_checks(
    scored: pd.DataFrame, champion_prediction: np.ndarray, config: ModelConfig
) -> tuple[list[Check], dict[str, float]]:
    """The challenger beats the champion on the test set with confidence, and no slice
    regresses beyond the tolerance."""
    gates = config.gates
    comparison = compare_models(
        scored, champion_prediction, config, metric=gates.metric, confidence=gates.confidence,
        samples=gates.bootstrap_samples, slice_tolerance=gates.slice_tolerance,
    )  # fmt: skip
    beats = Check(
        "beats_champion",
        comparison.better,
        f"{gates.metric} improvement {comparison.improvement:.3f}, {gates.confidence:.0%} CI"
        f" [{comparison.low:.3f}, {comparison.high:.3f}]"
        + (" excludes zero" if comparison.better else " does not exclude zero"),
    )
    return [beats, *comparison.slices], comparison.numbers()


def decide(
    config: ModelConfig,
    scored: pd.DataFrame,
    *,
    champion_version: str | None,
    champion_prediction: np.ndarray | None,
) -> GateDecision:
    """Run the gates of ``config`` on a scored test set and decide."""
    gates = config.gates
    metric = evaluate_predictions(scored, config).overall[gates.metric]
    kind = "first_deploy" if champion_version is None else "champion_challenger"
    checks: list[Check] = []
    numbers: dict[str, float] = {gates.metric: metric}
    if gates.mode != "disabled":
        champion_metric = None
        if champion_prediction is not None:
            as_champion = scored.assign(**{PREDICTION: champion_prediction})
            champion_metric = evaluate_predictions(as_champion, config).overall[gates.metric]
        checks.append(threshold_check(gates.metric, metric, gates, champion_metric))
        if champion_prediction is not None:
            more, numbers_more = champion_checks(scored, champion_prediction, config)
            checks += more
            numbers |= numbers_more
    passed = all(check.passed for check in checks)
    promote = passed or gates.mode != "enabled"
    if gates.mode == "disabled":
        summary = "gates disabled: promoted without checks"
    elif passed:
        summary = "all checks passed"
    else:
        failed = ", ".join(check.name for check in checks if not check.passed)
        summary = f"failed: {failed}" + (" (dry run: promoted anyway)" if gates.mode == "dry_run" else "")
    return GateDecision(
        promote=promote,
        kind=kind,
        mode=gates.mode,
        checks=checks,
        champion_version=champion_version,
        summary=summary,
        numbers=numbers,
    )


GATE_REPORT = "gate_report.json"


def gate_model(
    platform: PlatformConfig, config: ModelConfig, client: MlflowClient, run_id: str
) -> GateDecision:
    """Decide whether the run's model may replace the current champion.

    Reads the run's test predictions (``evaluate`` must have run); scores the same test set
    with the champion, if there is one. Writes the decision to a JSON report, to the run's
    artifacts and to its tags.
    """

    fields = from_tags(dict(client.get_run(run_id).data.tags))
    if "predictions_dataset_uri" not in fields:
        raise ConveyorError(
            f"run {run_id} has no test predictions; run `conveyor evaluate --run-id {run_id}` first"
        )
    scored = read_dataset(fields["predictions_dataset_uri"])
    champion = alias_version(client, config.name, CHAMPION)
    champion_prediction = None
    if champion is not None:
        recorded = client.get_model_version(config.name, champion).tags.get(DIGEST_TAG)
        model: Any = load_verified(config.name, champion, recorded)
        champion_prediction = model.predict(scored[feature_columns(config)]).astype("float64")
    decision = decide(config, scored, champion_version=champion, champion_prediction=champion_prediction)
    if champion is not None:  # what the run changed in the config, next to what it changed in the metric
        label = f"run {run_id} ({fields.get('config_hash', '')[:8]})"
        diff = diff_from_champion(client, config.name, champion, logged_config(client, run_id), label)
        if diff:
            client.log_text(run_id, diff, CONFIG_DIFF_ARTIFACT)

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
