"""Routing a request between the champion and a candidate in release."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.serving.champion import Lineup, LoadedModel
from pipelines.serving.metrics import ServiceMetrics
from pipelines.serving.release import ReleaseRouter, bucket

KEYS = [f"NOR-{i:02d}|SOU-{j:02d}" for i in range(50) for j in range(40)]


def model(version: str, offset: float) -> LoadedModel:
    return LoadedModel("freight_volume", version, lambda rows: np.array([offset + r["x"] for r in rows]))


def broken(version: str) -> LoadedModel:
    def fail(rows):
        raise RuntimeError("the candidate cannot score")

    return LoadedModel("freight_volume", version, fail)


class Recorded:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, float]] = []

    def __call__(self, loaded, alias, variant, request_id, entities, days, rows, scores):
        self.rows += [
            (loaded.version, alias, variant, e, float(s)) for e, s in zip(entities, scores, strict=True)
        ]


def route(lineup: Lineup, keys: list[str]) -> tuple[np.ndarray, list[str], Recorded, ServiceMetrics]:
    recorded, metrics = Recorded(), ServiceMetrics()
    router = ReleaseRouter(metrics, recorded)
    scores, versions = router.answer(
        lineup, "r1", keys, keys, ["2024-05-01"] * len(keys), [{"x": i} for i in range(len(keys))]
    )
    router.close()  # waits for the off-path scores
    return scores, versions, recorded, metrics


def test_buckets_are_stable_per_salt_and_uniform():
    assert bucket("m:2", "A|B") == bucket("m:2", "A|B")
    shares = [np.mean([bucket(salt, key) < 0.2 for key in KEYS]) for salt in ("m:2", "m:3")]
    assert shares == [pytest.approx(0.2, abs=0.02)] * 2
    # Another release draws other entities.
    assert {k for k in KEYS if bucket("m:2", k) < 0.2} != {k for k in KEYS if bucket("m:3", k) < 0.2}


def test_a_canary_answers_its_share_of_entities_and_the_champion_scores_them_too():
    lineup = Lineup(model("1", 0.0), model("2", 10_000.0), "canary", 0.2)
    scores, versions, recorded, _ = route(lineup, KEYS)
    canary = [k for k, v in zip(KEYS, versions, strict=True) if v == "2"]
    assert len(canary) / len(KEYS) == pytest.approx(0.2, abs=0.02)
    assert all(s >= 10_000 for s, v in zip(scores, versions, strict=True) if v == "2")
    assert all(s < 10_000 for s, v in zip(scores, versions, strict=True) if v == "1")
    # The same entities again: the same split.
    assert route(lineup, KEYS)[1] == versions
    served = {(v, a, var) for v, a, var, _, _ in recorded.rows}
    assert served == {("1", "champion", "served"), ("2", "candidate", "served"), ("1", "champion", "shadow")}
    shadowed = sorted(e for v, a, var, e, _ in recorded.rows if var == "shadow")
    assert shadowed == sorted(canary), "the champion scored exactly the canary's rows beside it"


def test_shadow_answers_with_the_champion_only_and_logs_the_candidates_scores():
    lineup = Lineup(model("1", 0.0), model("2", 10_000.0), "shadow", 0.5)
    scores, versions, recorded, _ = route(lineup, KEYS)
    assert set(versions) == {"1"} and (scores < 10_000).all()
    candidate = [e for v, a, var, e, _ in recorded.rows if (a, var) == ("candidate", "shadow")]
    assert len(candidate) / len(KEYS) == pytest.approx(0.5, abs=0.03)
    assert len([r for r in recorded.rows if r[2] == "served"]) == len(KEYS)


def test_a_failing_candidate_leaves_the_answers_to_the_champion_and_is_counted():
    lineup = Lineup(model("1", 0.0), broken("2"), "canary", 0.5)
    scores, versions, recorded, metrics = route(lineup, KEYS)
    assert set(versions) == {"1"} and len(scores) == len(KEYS)
    assert {(v, a, var) for v, a, var, _, _ in recorded.rows} == {("1", "champion", "served")}
    assert metrics.model_calls.labels("candidate", "failed")._value.get() == 1
    shadow = Lineup(model("1", 0.0), broken("2"), "shadow", 0.5)
    assert set(route(shadow, KEYS)[1]) == {"1"}
