"""One comparison of two models on the same units, shared by the gates (on the test set)
and the live release decision (on served traffic whose actuals arrived): the paired
bootstrap of the metric's improvement, and each slice against a tolerance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.training.metrics import HIGHER_IS_BETTER, PREDICTION, evaluate_predictions, units

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from pipelines.config.model import ModelConfig


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class Comparison:
    """The challenger against the champion: the improvement (positive: better) and its
    interval, how many paired units it rests on, and one check per slice value."""

    metric: str
    improvement: float
    low: float
    high: float
    units: int
    slices: list[Check]

    @property
    def better(self) -> bool:
        """Better with confidence: the interval lies above zero."""
        return self.low > 0

    @property
    def worse(self) -> bool:
        """Worse with confidence: the interval lies below zero."""
        return self.high < 0

    def numbers(self) -> dict[str, float]:
        return {"improvement": self.improvement, "improvement_low": self.low, "improvement_high": self.high}


def paired_bootstrap(
    champion: np.ndarray,
    challenger: np.ndarray,
    statistic: Callable[..., Any],
    *,
    higher_is_better: bool,
    samples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float, float]:
    """How much better the challenger's metric is than the champion's (positive: better),
    and its confidence interval, resampling the units of both models in pairs so they are
    always compared on the same rows or result lists."""
    from scipy.stats import bootstrap

    sign = -1.0 if higher_is_better else 1.0

    def improvement(c: np.ndarray, n: np.ndarray, axis: int = -1) -> np.ndarray:
        return sign * (statistic(c, axis=axis) - statistic(n, axis=axis))

    result = bootstrap(
        (champion, challenger),
        improvement,
        paired=True,
        vectorized=True,
        n_resamples=samples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    observed = float(improvement(champion, challenger))
    interval = result.confidence_interval
    return observed, float(interval.low), float(interval.high)


def slice_within(metric: str, ours: float, theirs: float, tolerance: float) -> tuple[bool, float]:
    """Whether a slice's metric is within ``tolerance`` (relative) of the champion's on it,
    and the worst value allowed: an error may rise, a ranking score may fall, by that much."""
    higher = metric in HIGHER_IS_BETTER
    allowed = theirs * (1 - tolerance if higher else 1 + tolerance)
    within = ours >= allowed if higher else ours <= allowed
    return bool(within) or bool(np.isnan(theirs)), allowed


def compare_models(
    scored: pd.DataFrame,
    champion_prediction: np.ndarray,
    config: ModelConfig,
    *,
    metric: str,
    confidence: float,
    samples: int,
    slice_tolerance: float,
) -> Comparison:
    """``scored`` holds the challenger's predictions (``prediction``), the target and the
    slice columns; ``champion_prediction`` the champion's on the same rows, in order."""
    higher = metric in HIGHER_IS_BETTER
    as_champion = scored.assign(**{PREDICTION: champion_prediction})
    challenger_units, statistic = units(scored, config, metric)
    champion_units, _ = units(as_champion, config, metric)
    gain, low, high = paired_bootstrap(
        champion_units, challenger_units, statistic,
        higher_is_better=higher, samples=samples, confidence=confidence, seed=config.model.seed,
    )  # fmt: skip
    ours_by_slice = evaluate_predictions(scored, config).slices
    theirs_by_slice = evaluate_predictions(as_champion, config).slices
    slices = []
    for column, values in ours_by_slice.items():
        for value, numbers in values.items():
            ours, theirs = numbers[metric], theirs_by_slice[column][value][metric]
            within, allowed = slice_within(metric, ours, theirs, slice_tolerance)
            slices.append(
                Check(
                    f"slice_{column}_{value}",
                    within,
                    f"{column}={value}: {metric} {ours:.3f} vs champion {theirs:.3f}"
                    f" (allowed {'down' if higher else 'up'} to {allowed:.3f})",
                )
            )
    return Comparison(metric, gain, low, high, len(challenger_units), slices)
