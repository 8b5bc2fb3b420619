"""Answering while a candidate is in release.

- ``canary``: each entity's key is hashed with the release's salt (model and candidate
  version) to a bucket in [0, 1); below ``share``, the candidate answers it. The same
  entity always meets the same version during a release, and the split is reproducible.
  The champion scores those rows too, off the response path, so the release decision
  compares both versions on the same entity-days.
- ``shadow``: the champion answers everything; the candidate scores the entities in
  ``share`` off the response path and only logs.

Off the response path means one background thread: a slow or failing candidate never
delays or fails an answer. A candidate's failure on the response path (canary) falls
back to the champion for those rows, and is counted: the release's error-rate guardrail.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.release.registry import CANDIDATE, CHAMPION

if TYPE_CHECKING:
    from pipelines.serving.champion import Lineup, LoadedModel
    from pipelines.serving.metrics import ServiceMetrics

log = logging.getLogger("conveyor.serving.release")
SERVED, SHADOW = "served", "shadow"
# Rows waiting for off-path scoring beyond this are dropped (and counted), not queued.
MAX_OFF_PATH_ROWS = 50_000


def bucket(salt: str, key: str) -> float:
    """A stable, uniform number in [0, 1) for ``key`` under ``salt``."""
    digest = hashlib.blake2b(f"{salt}\x1f{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def release_salt(candidate: LoadedModel) -> str:
    return f"{candidate.name}:{candidate.version}"


def in_release(lineup: Lineup, keys: list[str]) -> np.ndarray:
    """Which of ``keys`` the candidate takes (canary) or scores (shadow)."""
    if lineup.candidate is None:
        return np.zeros(len(keys), dtype=bool)
    salt = release_salt(lineup.candidate)
    return np.array([bucket(salt, key) < lineup.share for key in keys], dtype=bool)


# What a logged batch of predictions is written with: the model, its alias and variant,
# the request id, and per row the entity, target day, features and score.
Recorder = Callable[[Any, str, str, str, list[str], list[Any], list[dict[str, Any]], Any], None]


class ReleaseRouter:
    """Scores a request's rows with the lineup's versions and records every score."""

    def __init__(self, metrics: ServiceMetrics, record: Recorder) -> None:
        self.metrics = metrics
        self.record = record
        self._off_path = ThreadPoolExecutor(max_workers=1, thread_name_prefix="off-path-scoring")
        self._waiting = 0
        self._lock = threading.Lock()

    def close(self) -> None:
        """Finish the off-path scoring already queued (its rows are logged)."""
        self._off_path.shutdown(wait=True)

    def score(self, model: LoadedModel, alias: str, rows: list[dict[str, Any]]) -> np.ndarray:
        started = time.perf_counter()
        try:
            scores = np.asarray(model.predict(rows), dtype="float64")
        except Exception:
            self.metrics.model_calls.labels(alias, "failed").inc()
            raise
        self.metrics.model_seconds.labels(alias).observe(time.perf_counter() - started)
        self.metrics.model_calls.labels(alias, "ok").inc()
        return scores

    def answer(
        self,
        lineup: Lineup,
        request_id: str,
        route_keys: list[str],
        entities: list[str],
        days: list[Any],
        rows: list[dict[str, Any]],
    ) -> tuple[np.ndarray, list[str]]:
        """The answer for every row and the version that gave it; logs them, and queues the
        off-path scores the release needs."""
        champion, candidate = lineup.champion, lineup.candidate
        assert champion is not None
        chosen = in_release(lineup, route_keys)
        if candidate is None or lineup.strategy == SHADOW or not chosen.any():
            scores = self.score(champion, CHAMPION, rows)
            self._log(
                champion, CHAMPION, SERVED, request_id, np.ones(len(rows), bool), entities, days, rows, scores
            )
            if candidate is not None and lineup.strategy == SHADOW and chosen.any():
                self._queue(candidate, CANDIDATE, request_id, chosen, entities, days, rows)
            return scores, [champion.version] * len(rows)
        scores = np.empty(len(rows), dtype="float64")
        versions = [champion.version] * len(rows)
        picked = [rows[i] for i in np.flatnonzero(chosen)]
        try:
            scores[chosen] = self.score(candidate, CANDIDATE, picked)
        except Exception:
            log.exception(
                "candidate %s failed on %d rows; the champion answers them", candidate.version, len(picked)
            )
            chosen = np.zeros(len(rows), dtype=bool)
        else:
            for i in np.flatnonzero(chosen):
                versions[i] = candidate.version
            self._log(candidate, CANDIDATE, SERVED, request_id, chosen, entities, days, rows, scores)
            # The champion's scores of the same rows pair them up for the release decision.
            self._queue(champion, CHAMPION, request_id, chosen, entities, days, rows)
        rest = ~chosen
        if rest.any():
            scores[rest] = self.score(champion, CHAMPION, [rows[i] for i in np.flatnonzero(rest)])
            self._log(champion, CHAMPION, SERVED, request_id, rest, entities, days, rows, scores)
        return scores, versions

    def _log(
        self, model: LoadedModel, alias: str, variant: str, request_id: str, which: np.ndarray,
        entities: list[str], days: list[Any], rows: list[dict[str, Any]], scores: np.ndarray,
    ) -> None:  # fmt: skip
        index = np.flatnonzero(which)
        self.record(model, alias, variant, request_id, [entities[i] for i in index], [days[i] for i in index],
                    [rows[i] for i in index], scores[index])  # fmt: skip

    def _queue(
        self, model: LoadedModel, alias: str, request_id: str, which: np.ndarray,
        entities: list[str], days: list[Any], rows: list[dict[str, Any]],
    ) -> None:  # fmt: skip
        index = np.flatnonzero(which)
        with self._lock:
            if self._waiting + len(index) > MAX_OFF_PATH_ROWS:
                self.metrics.off_path_dropped.inc(len(index))
                return
            self._waiting += len(index)
        picked = ([entities[i] for i in index], [days[i] for i in index], [rows[i] for i in index])
        self._off_path.submit(self._score_off_path, model, alias, request_id, *picked)

    def _score_off_path(
        self, model: LoadedModel, alias: str, request_id: str,
        entities: list[str], days: list[Any], rows: list[dict[str, Any]],
    ) -> None:  # fmt: skip
        try:
            scores = self.score(model, alias, rows)
            self.record(model, alias, SHADOW, request_id, entities, days, rows, scores)
        except Exception:
            log.exception(
                "%s version %s failed scoring %d rows off the response path", alias, model.version, len(rows)
            )
        finally:
            with self._lock:
                self._waiting -= len(rows)
