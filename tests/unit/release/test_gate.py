from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.release.gate import decide


def scored(actual: np.ndarray, prediction: np.ndarray, regions: list[str] | None = None) -> pd.DataFrame:
    regions = regions or ["north", "south"] * (len(actual) // 2)
    return pd.DataFrame({"volume": actual, "prediction": prediction, "region": regions})


def with_mode(config, mode: str):
    return config.model_copy(update={"gates": config.gates.model_copy(update={"mode": mode})})


RNG = np.random.default_rng(0)
ACTUAL = RNG.normal(40, 10, 400)


def test_first_deploy_passes_below_the_business_threshold_only(freight_config):
    good = decide(freight_config, scored(ACTUAL, ACTUAL + RNG.normal(0, 5, 400)),
                  champion_version=None, champion_prediction=None)  # fmt: skip
    bad = decide(freight_config, scored(ACTUAL, ACTUAL + RNG.normal(0, 30, 400)),
                 champion_version=None, champion_prediction=None)  # fmt: skip
    assert (good.kind, good.promote) == ("first_deploy", True)
    assert (bad.promote, bad.summary) == (False, "failed: business_threshold")


def test_a_clearly_better_challenger_passes_a_lookalike_does_not(freight_config):
    champion = ACTUAL + RNG.normal(0, 9, 400)
    better = decide(freight_config, scored(ACTUAL, ACTUAL + RNG.normal(0, 6, 400)),
                    champion_version="1", champion_prediction=champion)  # fmt: skip
    lookalike = decide(freight_config, scored(ACTUAL, champion + RNG.normal(0, 0.5, 400)),
                       champion_version="1", champion_prediction=champion)  # fmt: skip
    assert better.promote and better.kind == "champion_challenger"
    assert better.numbers["improvement_low"] > 0
    assert not lookalike.promote
    assert "does not exclude zero" in next(c.detail for c in lookalike.checks if c.name == "beats_champion")


def test_past_the_business_threshold_a_challenger_passes_only_where_the_champion_misses_it_too(
    freight_config,
):
    # The data moved (a busier region came): neither model gets under 15 on the new test set.
    champion = ACTUAL + RNG.normal(0, 30, 400)
    better = decide(freight_config, scored(ACTUAL, ACTUAL + RNG.normal(0, 20, 400)),
                    champion_version="1", champion_prediction=champion)  # fmt: skip
    threshold = next(c for c in better.checks if c.name == "business_threshold")
    assert better.promote and threshold.passed, better.checks
    assert "and neither is the champion's" in threshold.detail
    # A champion within the threshold keeps it binding.
    within = ACTUAL + RNG.normal(0, 5, 400)
    worse = decide(freight_config, scored(ACTUAL, ACTUAL + RNG.normal(0, 20, 400)),
                   champion_version="1", champion_prediction=within)  # fmt: skip
    assert not worse.promote
    assert "business_threshold" in [c.name for c in worse.checks if not c.passed]


def test_a_regression_on_one_slice_blocks_an_overall_improvement(freight_config):
    regions = ["north"] * 300 + ["south"] * 100
    champion = ACTUAL + np.r_[RNG.normal(0, 9, 300), RNG.normal(0, 2, 100)]
    challenger = ACTUAL + np.r_[RNG.normal(0, 4, 300), RNG.normal(0, 4, 100)]
    decision = decide(freight_config, scored(ACTUAL, challenger, regions),
                      champion_version="1", champion_prediction=champion)  # fmt: skip
    failed = [c.name for c in decision.checks if not c.passed]
    assert failed == ["slice_region_south"]
    assert not decision.promote


def test_dry_run_reports_the_failure_but_lets_the_model_through(freight_config):
    decision = decide(with_mode(freight_config, "dry_run"), scored(ACTUAL, ACTUAL + 40),
                      champion_version=None, champion_prediction=None)  # fmt: skip
    assert decision.promote and not decision.checks_passed
    assert decision.summary == "failed: business_threshold (dry run: promoted anyway)"


def test_disabled_gates_check_nothing(freight_config):
    decision = decide(with_mode(freight_config, "disabled"), scored(ACTUAL, ACTUAL + 40),
                      champion_version=None, champion_prediction=None)  # fmt: skip
    assert decision.promote and decision.checks == []
