"""The one comparison the gates and the live release decision share."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.release.compare import compare_models, paired_bootstrap, slice_within

RNG = np.random.default_rng(0)
ACTUAL = RNG.normal(40, 10, 400)


def test_paired_bootstrap_is_seeded_and_brackets_the_observed_gain():
    champion, challenger = ACTUAL + RNG.normal(0, 9, 400), ACTUAL + RNG.normal(0, 6, 400)
    champion_units, challenger_units = (champion - ACTUAL) ** 2, (challenger - ACTUAL) ** 2

    def rmse(values, axis=-1):
        return np.sqrt(np.mean(values, axis=axis))

    def bootstrap(seed):
        return paired_bootstrap(champion_units, challenger_units, rmse, higher_is_better=False,
                                samples=500, confidence=0.9, seed=seed)  # fmt: skip

    first = bootstrap(1)
    assert first == bootstrap(1)
    gain, low, high = first
    assert low < gain < high
    assert gain == pytest.approx(
        np.sqrt(np.mean((champion - ACTUAL) ** 2)) - np.sqrt(np.mean((challenger - ACTUAL) ** 2))
    )


@pytest.mark.parametrize(
    ("metric", "champion", "within", "beyond"),
    [
        ("rmse", 10.0, 10.3, 10.8),
        ("mae", 4.0, 4.1, 4.4),
        ("ndcg_at_10", 0.80, 0.78, 0.74),
        ("mrr", 0.5, 0.49, 0.45),
    ],
)
def test_a_slice_may_get_worse_within_the_tolerance_but_not_beyond(metric, champion, within, beyond):
    # Worse is up for an error and down for a ranking score: a swapped sign would let the
    # regression beyond the tolerance through, or block the one within it.
    assert slice_within(metric, within, champion, 0.05)[0]
    assert not slice_within(metric, beyond, champion, 0.05)[0]
    assert slice_within(metric, beyond, champion, 0.20)[0]


def test_a_better_slice_always_passes_and_a_slice_the_champion_had_no_value_on_passes():
    assert slice_within("rmse", 5.0, 10.0, 0.0)[0]
    assert slice_within("ndcg_at_10", 0.9, 0.5, 0.0)[0]
    assert slice_within("rmse", 12.0, float("nan"), 0.05)[0]


def test_compare_models_judges_each_slice_against_the_tolerance(freight_config):
    regions = ["north"] * 300 + ["south"] * 100
    champion = ACTUAL + np.r_[RNG.normal(0, 9, 300), RNG.normal(0, 4, 100)]
    # South's errors 4% larger than the champion's: within 5%, beyond 2%.
    challenger = ACTUAL + np.r_[RNG.normal(0, 5, 300), (champion[300:] - ACTUAL[300:]) * 1.04]
    scored = pd.DataFrame({"volume": ACTUAL, "prediction": challenger, "region": regions})

    def south(tolerance):
        compared = compare_models(scored, champion, freight_config, metric="rmse", confidence=0.95,
                                  samples=500, slice_tolerance=tolerance)  # fmt: skip
        assert compared.better and not compared.worse and compared.units == 400
        return next(check for check in compared.slices if check.name == "slice_region_south")

    assert south(0.05).passed
    assert not south(0.02).passed
