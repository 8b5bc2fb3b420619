"""The judge_candidate step: the release decision from live results.

The candidate's served (canary) or shadow scores and the champion's scores of the same
entity-days are paired once their actuals arrive, and compared as the gates compare on
the test set (``compare.py``: the paired bootstrap of the model's metric, and each
slice against the tolerance). The operational guardrails come from the service's
metrics: the candidate's failed share of scoring calls and its p99 scoring latency.

- A guardrail broken: roll back at once.
- Fewer than ``min_samples`` paired units: wait.
- Worse than the champion with confidence: roll back.
- Fewer than ``baking_days`` target days served: wait.
- A slice beyond the tolerance: roll back.
- Better with confidence: promote (compare-and-set against the champion it was released
  beside). Otherwise: wait, saying why.

Rolling back removes the ``candidate`` alias, so serving sends all traffic back to the
champion; either way the version records the decision and its reason.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import fsspec

from pipelines.features.store import ENTITY_ID
from pipelines.lakehouse.storage import Lakehouse
from pipelines.monitor.performance import live_rows, with_silver_slices
from pipelines.release.compare import Comparison, compare_models
from pipelines.release.registry import CANDIDATE, CHAMPION, alias_version, end_candidate, move_champion
from pipelines.serving.log import PredictionLog
from pipelines.training.lineage import TAG, from_tags
from pipelines.training.metrics import PREDICTION, units

if TYPE_CHECKING:
    from datetime import date

    import pandas as pd
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig, ReleaseConfig
    from pipelines.config.platform import PlatformConfig

log = logging.getLogger("conveyor.release")
PROMOTE, ROLL_BACK, WAIT, NONE = "promote", "roll back", "wait", "none"


@dataclass(frozen=True)
class Guardrails:
    """The candidate's operational numbers, and where they came from (or why none)."""

    error_rate: float | None = None
    p99_ms: float | None = None
    source: str = "no metrics source configured for this model (serving.metrics_urls)"


@dataclass(frozen=True)
class ReleaseDecision:
    model: str
    as_of: str
    outcome: str  # promote | roll back | wait | none
    reason: str
    candidate_version: str | None = None
    champion_version: str | None = None
    strategy: str | None = None
    units: int = 0
    served_days: int = 0
    comparison: dict[str, Any] = field(default_factory=dict)
    guardrails: dict[str, Any] = field(default_factory=dict)
    report_uri: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide_release(
    release: ReleaseConfig,
    comparison: Comparison | None,
    served_days: int,
    guardrails: Guardrails,
    *,
    paired_units: int = 0,
) -> tuple[str, str]:
    """The outcome and why, from the paired comparison (None: too few pairs, ``paired_units``
    of them, to compare yet)."""
    broken = []
    if guardrails.error_rate is not None and guardrails.error_rate > release.max_error_rate:
        broken.append(f"error rate {guardrails.error_rate:.2%} above {release.max_error_rate:.2%}")
    if guardrails.p99_ms is not None and guardrails.p99_ms > release.max_p99_ms:
        broken.append(f"p99 {guardrails.p99_ms:.1f} ms above {release.max_p99_ms:.1f} ms")
    if broken:
        return ROLL_BACK, "guardrail broken: " + "; ".join(broken)
    units = comparison.units if comparison else paired_units
    if comparison is None or units < release.min_samples:
        return WAIT, f"{units} paired live units with actuals so far; {release.min_samples} needed"
    interval = (
        f"{comparison.metric} improvement {comparison.improvement:.3f},"
        f" CI [{comparison.low:.3f}, {comparison.high:.3f}] over {units} paired units"
    )
    if comparison.worse:
        return ROLL_BACK, f"worse than the champion: {interval}"
    if served_days < release.baking_days:
        return WAIT, f"served {served_days} of {release.baking_days} baking days ({interval})"
    beyond = [check.detail for check in comparison.slices if not check.passed]
    if beyond:
        return ROLL_BACK, "a slice regressed beyond the tolerance: " + "; ".join(beyond)
    if comparison.better:
        return PROMOTE, f"better than the champion: {interval}"
    return WAIT, f"not yet decidable, the interval includes zero: {interval}"


def paired_live_rows(
    served: pd.DataFrame, config: ModelConfig, candidate: str, champion: str
) -> tuple[pd.DataFrame, Any]:
    """The candidate's scored rows with arrived actuals, and the champion's scores of the
    same entity-days in the same order (its answer or its score beside the canary's)."""
    ours = live_rows(served[served["alias"] == CANDIDATE], config, candidate)
    theirs = live_rows(served[served["alias"] == CHAMPION], config, champion)
    theirs = theirs.drop_duplicates([ENTITY_ID, "target_date"], keep="last")
    ours = ours.drop_duplicates([ENTITY_ID, "target_date"], keep="last")
    keyed = theirs[[ENTITY_ID, "target_date", PREDICTION]].rename(columns={PREDICTION: "champion_prediction"})
    paired = ours.merge(keyed, on=[ENTITY_ID, "target_date"], how="inner", validate="one_to_one")
    return paired.drop(columns="champion_prediction"), paired["champion_prediction"].to_numpy("float64")


def read_guardrails(
    platform: PlatformConfig, config: ModelConfig, metrics_text: str | None = None
) -> Guardrails:
    """The candidate's failed share of scoring calls and p99 scoring latency since its
    service started, from the service's Prometheus metrics."""
    url = platform.serving.metrics_urls.get(config.name)
    if metrics_text is None:
        if not url:
            return Guardrails()
        import httpx

        try:
            metrics_text = httpx.get(url, timeout=10).text
        except httpx.HTTPError as error:
            return Guardrails(source=f"{url} did not answer ({error}); guardrails not read")
    return guardrails_from_metrics(metrics_text, source=url or "metrics given")


def guardrails_from_metrics(text: str, source: str) -> Guardrails:
    from prometheus_client.parser import text_string_to_metric_families

    calls: dict[str, float] = {}
    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("alias") != CANDIDATE:
                continue
            if sample.name == "conveyor_model_calls_total":
                calls[sample.labels["outcome"]] = sample.value
            elif sample.name == "conveyor_model_seconds_bucket":
                buckets.append((float(sample.labels["le"]), sample.value))
    total = sum(calls.values())
    error_rate = calls.get("failed", 0.0) / total if total else None
    p99 = histogram_quantile(0.99, sorted(buckets))
    return Guardrails(error_rate, None if p99 is None else p99 * 1000, source)


def histogram_quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Prometheus's ``histogram_quantile``: linear within the bucket the rank falls in."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 0.0
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound


def judge_candidate(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    as_of: date,
    prediction_log: PredictionLog | None = None,
    lakehouse: Lakehouse | None = None,
    metrics_text: str | None = None,
) -> ReleaseDecision:
    """Decide the release of ``config``'s candidate from live results as of ``as_of``, and
    carry the decision out (promote, or roll back). Nothing to do without a candidate."""
    candidate = alias_version(client, config.name, CANDIDATE)
    if candidate is None:
        return ReleaseDecision(config.name, as_of.isoformat(), NONE, "no candidate in release")
    fields = from_tags(dict(client.get_model_version(config.name, candidate).tags))
    strategy, released_beside = (
        fields.get("release.strategy", "canary"),
        fields.get("release.champion_version"),
    )
    champion = alias_version(client, config.name, CHAMPION)
    report_uri = f"{platform.reports_uri}/{config.name}/release-{candidate}-{as_of}.json"
    base: dict[str, Any] = {"model": config.name, "as_of": as_of.isoformat(), "candidate_version": candidate,
            "champion_version": champion, "strategy": strategy, "report_uri": report_uri}  # fmt: skip
    if champion is None or champion != released_beside:
        reason = f"the champion moved from {released_beside} to {champion} during the release"
        decision = ReleaseDecision(**base, outcome=ROLL_BACK, reason=reason)
        return _carry_out(platform, config, client, decision, "aborted")

    prediction_log = prediction_log or PredictionLog(platform.serving.prediction_log_url)
    days = prediction_log.served_days(config.name, candidate)
    comparison, paired = None, 0
    if days:
        served = prediction_log.served(
            config.name, days[0], as_of, versions=[champion, candidate], answers_only=False
        )
        if not served.empty:
            scored, champion_prediction = paired_live_rows(served, config, candidate, champion)
            scored, _ = with_silver_slices(scored, platform, config, lakehouse, days[0], as_of)
            gates = config.gates
            paired = len(units(scored, config, gates.metric)[0]) if len(scored) else 0
            # Too few pairs: no interval yet (a bootstrap needs two units, a decision min_samples).
            if paired >= max(2, config.release.min_samples):
                comparison = compare_models(
                    scored, champion_prediction, config, metric=gates.metric, confidence=gates.confidence,
                    samples=gates.bootstrap_samples, slice_tolerance=gates.slice_tolerance,
                )  # fmt: skip
    served_days = len([day for day in days if day <= as_of])
    guardrails = read_guardrails(platform, config, metrics_text)
    outcome, reason = decide_release(config.release, comparison, served_days, guardrails, paired_units=paired)
    decision = ReleaseDecision(
        **base, outcome=outcome, reason=reason, units=paired,
        served_days=served_days, comparison=asdict(comparison) if comparison else {},
        guardrails=asdict(guardrails),
    )  # fmt: skip
    return _carry_out(platform, config, client, decision, "rolled back")


def _carry_out(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    decision: ReleaseDecision,
    rolled: str,
) -> ReleaseDecision:
    """Promote or roll back as decided, and write the decision where people look."""
    version = decision.candidate_version
    assert version is not None
    if decision.outcome == PROMOTE:
        move_champion(client, platform, config.name, version, expected_champion=decision.champion_version,
                      action=f"{decision.strategy} passed")  # fmt: skip
        client.set_model_version_tag(config.name, version, f"{TAG}release.decision", "promoted")
        client.set_model_version_tag(config.name, version, f"{TAG}release.reason",
                                     f"{decision.strategy} passed: {decision.reason}"[:4000])  # fmt: skip
    elif decision.outcome == ROLL_BACK:
        end_candidate(client, platform, config.name, version, decision=rolled, reason=decision.reason)
    else:  # still pending: the version shows the decision so far (the Models view reads it)
        client.set_model_version_tag(config.name, version, f"{TAG}release.reason",
                                     f"as of {decision.as_of}: {decision.reason}"[:4000])  # fmt: skip
    report = json.dumps(decision.to_dict(), indent=2, default=str)
    assert decision.report_uri is not None
    with fsspec.open(decision.report_uri, "w", auto_mkdir=True) as out:
        out.write(report)
    run_id = client.get_model_version(config.name, version).run_id
    client.log_text(str(run_id), report, f"release/decision-{decision.as_of}.json")
    log.info("%s candidate %s (%s) as of %s: %s, %s", config.name, version, decision.strategy,
             decision.as_of, decision.outcome, decision.reason)  # fmt: skip
    return decision


def decide_by_hand(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    *,
    promote: bool,
    requested_by: str,
    reason: str,
) -> ReleaseDecision:
    """An operator's decision on the candidate in release: promote it now, or abort it."""
    from datetime import UTC, datetime

    from pipelines.errors import MissingInputError

    candidate = alias_version(client, config.name, CANDIDATE)
    if candidate is None:
        raise MissingInputError(f"{config.name} has no candidate in release; nothing to decide")
    fields = from_tags(dict(client.get_model_version(config.name, candidate).tags))
    today = datetime.now(UTC).date()
    decision = ReleaseDecision(
        model=config.name, as_of=today.isoformat(), outcome=PROMOTE if promote else ROLL_BACK,
        reason=f"by hand ({requested_by}): {reason}", candidate_version=candidate,
        champion_version=fields.get("release.champion_version"), strategy=fields.get("release.strategy"),
        report_uri=f"{platform.reports_uri}/{config.name}/release-{candidate}-{today}-by-hand.json",
    )  # fmt: skip
    return _carry_out(platform, config, client, decision, "aborted")
