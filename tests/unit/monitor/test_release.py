"""The release decision: each rule, in the order a change could quietly swap."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from pipelines.config.model import ReleaseConfig
from pipelines.monitor.release import (
    PROMOTE,
    ROLL_BACK,
    WAIT,
    Guardrails,
    decide_release,
    guardrails_from_metrics,
    histogram_quantile,
)
from pipelines.release.compare import Check, Comparison
from pipelines.serving.metrics import ServiceMetrics

RELEASE = ReleaseConfig(strategy="canary", share=0.2, min_samples=100, baking_days=2,
                        max_error_rate=0.01, max_p99_ms=50)  # fmt: skip
SLICE_OK = Check("slice_region_north", True, "north: ok")
SLICE_BEYOND = Check(
    "slice_region_south", False, "region=south: rmse 13.0 vs champion 10.0 (allowed up to 10.5)"
)


def compared(low: float, high: float, units: int = 500, slices=(SLICE_OK,)) -> Comparison:
    return Comparison("rmse", (low + high) / 2, low, high, units, list(slices))


@pytest.mark.parametrize(
    ("comparison", "days", "guardrails", "outcome", "because"),
    [
        (compared(1, 2), 3, Guardrails(), PROMOTE, "better than the champion"),
        (compared(1, 2), 3, Guardrails(error_rate=0.05), ROLL_BACK, "error rate 5.00% above 1.00%"),
        (compared(1, 2), 3, Guardrails(p99_ms=80), ROLL_BACK, "p99 80.0 ms above 50.0 ms"),
        (
            compared(1, 2, units=99),
            3,
            Guardrails(),
            WAIT,
            "99 paired live units with actuals so far; 100 needed",
        ),
        (None, 3, Guardrails(), WAIT, "0 paired live units"),
        (compared(-2, -1), 1, Guardrails(), ROLL_BACK, "worse than the champion"),
        (compared(1, 2), 1, Guardrails(), WAIT, "served 1 of 2 baking days"),
        (compared(1, 2, slices=(SLICE_OK, SLICE_BEYOND)), 3, Guardrails(), ROLL_BACK, "region=south"),
        (compared(-1, 2), 3, Guardrails(), WAIT, "the interval includes zero"),
        (compared(1, 2), 3, Guardrails(error_rate=0.01, p99_ms=50), PROMOTE, "better"),
    ],
)
def test_the_release_decision(comparison, days, guardrails, outcome, because):
    decided, reason = decide_release(RELEASE, comparison, days, guardrails)
    assert decided == outcome
    assert because in reason


def test_histogram_quantile_interpolates_within_the_bucket_like_prometheus():
    # 100 observations: 90 up to 10 ms, 10 between 10 and 20 ms.
    buckets = [(0.005, 40.0), (0.01, 90.0), (0.02, 100.0), (float("inf"), 100.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.005 + 0.005 * (50 - 40) / 50)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.01 + 0.01 * 9 / 10)
    assert histogram_quantile(0.99, [(0.01, 0.0), (float("inf"), 0.0)]) is None


def test_guardrails_read_the_candidates_calls_and_latency_from_the_services_metrics():
    metrics = ServiceMetrics()
    for _ in range(98):
        metrics.model_calls.labels("candidate", "ok").inc()
        metrics.model_seconds.labels("candidate").observe(0.004)
        metrics.model_calls.labels("champion", "failed").inc()  # the champion's are not the candidate's
    metrics.model_calls.labels("candidate", "failed").inc(2)
    metrics.model_seconds.labels("candidate").observe(0.2)
    metrics.model_seconds.labels("candidate").observe(0.2)
    read = guardrails_from_metrics(generate_latest(metrics.registry).decode(), source="test")
    assert read.error_rate == pytest.approx(0.02)
    assert 100 < read.p99_ms < 250  # the two slow calls are the top 2%: p99 in their bucket
    assert guardrails_from_metrics(generate_latest(ServiceMetrics().registry).decode(), "t") == Guardrails(
        None, None, "t"
    )
