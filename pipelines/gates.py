"""Gates: may this model version become the champion?

- First deploy (no champion yet): the metric must be below the business threshold.
- Retrain: the challenger must beat the champion on the same test set by a margin whose
  paired bootstrap confidence interval excludes zero, and regress on no slice by more
  than ``slice_tolerance``; the business threshold still applies.

Modes: ``enabled`` blocks on failure, ``dry_run`` reports but lets the model through,
``disabled`` skips the checks. A forced promotion (``conveyor promote --force``) overrides
a failed gate and records who asked and why on the version.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.evaluate import PREDICTION, evaluate_predictions, regression_metrics

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.config import GatesConfig, ModelConfig


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


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


def paired_bootstrap(
    actual: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    *,
    samples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float, float]:
    """RMSE(champion) - RMSE(challenger) and its confidence interval, resampling rows in
    pairs so both models are always compared on the same rows."""
    from scipy.stats import bootstrap

    def improvement(a: np.ndarray, c: np.ndarray, n: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sqrt(np.mean((c - a) ** 2, axis=axis)) - np.sqrt(np.mean((n - a) ** 2, axis=axis))

    result = bootstrap(
        (actual, champion, challenger),
        improvement,
        paired=True,
        vectorized=True,
        n_resamples=samples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    observed = float(improvement(actual, champion, challenger))
    interval = result.confidence_interval
    return observed, float(interval.low), float(interval.high)


def threshold_check(metric: str, value: float, gates: GatesConfig) -> Check:
    passed = value < gates.business_threshold
    relation = "below" if passed else "not below"
    return Check(
        "business_threshold",
        passed,
        f"{metric} {value:.3f} is {relation} the business threshold {gates.business_threshold}",
    )


def champion_checks(
    scored: pd.DataFrame, champion_prediction: np.ndarray, config: ModelConfig
) -> tuple[list[Check], dict[str, float]]:
    gates = config.gates
    actual = scored[config.target].to_numpy(dtype="float64")
    challenger = scored[PREDICTION].to_numpy(dtype="float64")
    gain, low, high = paired_bootstrap(
        actual,
        champion_prediction,
        challenger,
        samples=gates.bootstrap_samples,
        confidence=gates.confidence,
        seed=config.model.seed,
    )
    checks = [
        Check(
            "beats_champion",
            low > 0,
            f"RMSE improvement {gain:.3f}, {gates.confidence:.0%} CI [{low:.3f}, {high:.3f}]"
            + (" excludes zero" if low > 0 else " does not exclude zero"),
        )
    ]
    ours_by_slice = evaluate_predictions(scored, config).slices
    theirs_by_slice = evaluate_predictions(scored.assign(**{PREDICTION: champion_prediction}), config).slices
    for column, values in ours_by_slice.items():
        for value, numbers in values.items():
            ours, theirs = numbers["rmse"], theirs_by_slice[column][value]["rmse"]
            allowed = theirs * (1 + gates.slice_tolerance)
            checks.append(
                Check(
                    f"slice_{column}_{value}",
                    ours <= allowed,
                    f"{column}={value}: RMSE {ours:.3f} vs champion {theirs:.3f}"
                    f" (allowed up to {allowed:.3f})",
                )
            )
    return checks, {"improvement": gain, "improvement_low": low, "improvement_high": high}


def decide(
    config: ModelConfig,
    scored: pd.DataFrame,
    *,
    champion_version: str | None,
    champion_prediction: np.ndarray | None,
) -> GateDecision:
    """Run the gates of ``config`` on a scored test set and decide."""
    gates = config.gates
    metric = regression_metrics(
        scored[config.target].to_numpy(dtype="float64"),
        scored[PREDICTION].to_numpy(dtype="float64"),
    )[gates.metric]
    kind = "first_deploy" if champion_version is None else "champion_challenger"
    checks: list[Check] = []
    numbers: dict[str, float] = {gates.metric: metric}
    if gates.mode != "disabled":
        checks.append(threshold_check(gates.metric, metric, gates))
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
