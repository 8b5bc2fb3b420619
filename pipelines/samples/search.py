"""Sample data for the second use case: how relevant a document is to a search query.

A pool of queries (a few words of one topic, in one language) each has a fixed list of
candidate documents (a title and snippet of topic and filler words). A pair's latent
relevance (0-3) follows what the text shows: the same topic, shared concepts, the same
language, plus a per-pair effect the text does not show. Every day a sample of the queries
is issued; users click a result more often the more relevant it is and the higher it is
shown, and stay longer on relevant ones. The label ``relevance`` grades that day's clicks
and dwell, so it is a noisy reading of the latent relevance: click history predicts it only
in part, the text carries the rest. Day d's logs arrive in the batch of logical date
d + ``report_delay_days``. Shift knobs: ``new_topics`` (queries and documents of topics
never seen before) and ``language_mix`` (most traffic in a language that was rare).
Seeded and deterministic: the same scenario always gives the same rows, a shift never
changes the rows it did not add, and a day's rows do not depend on how many days follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

from pipelines.samples.search_clicks import day_of_logs
from pipelines.samples.search_words import FILLER, LANGUAGES, SHIFT_TOPICS, TOPICS, Concept

ShiftKind = Literal["new_topics", "language_mix"]
SHIFT_KINDS: tuple[ShiftKind, ...] = ("new_topics", "language_mix")

BATCH_COLUMNS = ["date", "query_id", "query", "language", "topic", "doc_id", "document", "published",
                 "impressions", "clicks", "dwell_seconds", "relevance"]  # fmt: skip
# Share of queries per language; Spanish is rare until the language_mix shift.
LANGUAGE_SHARES = np.array([0.5, 0.25, 0.2, 0.05])
RARE_LANGUAGE = "es"


@dataclass(frozen=True)
class SearchScenario:
    """What to generate: search days ``start`` .. ``start + days - 1``.

    ``queries`` is the pool, ``queries_per_day`` how many of them are issued a day, each
    showing its ``docs_per_query`` candidates; ``docs_per_topic`` documents exist per topic
    and language.
    """

    start: date
    days: int
    queries: int = 200
    queries_per_day: int = 40
    docs_per_query: int = 10
    docs_per_topic: int = 12
    seed: int = 0
    report_delay_days: int = 1
    shift: ShiftKind | None = None
    shift_start: date | None = None

    def __post_init__(self) -> None:
        if min(self.days, self.queries, self.queries_per_day, self.report_delay_days) <= 0:
            raise ValueError("days, queries, queries_per_day and report_delay_days must be positive")
        if self.queries_per_day > self.queries:
            raise ValueError(f"queries_per_day ({self.queries_per_day}) exceeds the pool ({self.queries})")
        if not 2 <= self.docs_per_query <= self.docs_per_topic:
            raise ValueError("docs_per_query must be at least 2 and at most docs_per_topic")
        if self.shift is not None and self.shift not in SHIFT_KINDS:
            raise ValueError(f"unknown shift {self.shift!r}; use one of {', '.join(SHIFT_KINDS)}")
        if self.shift is not None and self.shift_start is None:
            raise ValueError("a shift needs shift_start, the first day it applies")


def _concept_words(concepts: list[Concept], chosen: np.ndarray, language: str) -> list[str]:
    return [concepts[i][LANGUAGES.index(language)] for i in chosen]


def _documents(
    rng: np.random.Generator,
    topics: dict[str, list[Concept]],
    per_topic: int,
    first: int,
    newest: date,
    max_age_days: int,
) -> pd.DataFrame:
    """``per_topic`` documents per topic and language, published up to ``max_age_days`` before ``newest``."""
    rows = []
    for topic, concepts in topics.items():
        for language in LANGUAGES:
            for _ in range(per_topic):
                chosen = rng.choice(len(concepts), size=3, replace=False)
                words = _concept_words(concepts, chosen, language)
                filler = list(rng.choice(FILLER[language], size=6))
                title = list(rng.permutation([*words[:2], filler[0]]))
                snippet = list(rng.permutation([*words, *filler[1:]]))
                published = newest - timedelta(days=int(rng.integers(0, max_age_days + 1)))
                keys = frozenset(f"{topic}:{i}" for i in chosen)
                rows.append((topic, language, keys, " ".join(title + snippet), published))
    docs = pd.DataFrame(rows, columns=["topic", "language", "concepts", "document", "published"])
    docs.insert(0, "doc_id", [f"d-{n:05d}" for n in range(first, first + len(docs))])
    return docs


def _queries(
    rng: np.random.Generator,
    topics: dict[str, list[Concept]],
    count: int,
    first: int,
    language_shares: np.ndarray,
) -> pd.DataFrame:
    """``count`` queries of 2-4 words: one or two concepts of a topic, at times a word of another."""
    everything = {**TOPICS, **topics}  # base queries never stray into a topic that is yet to come
    rows = []
    for _ in range(count):
        topic = str(rng.choice(list(topics)))
        language = str(rng.choice(LANGUAGES, p=language_shares))
        chosen = rng.choice(len(topics[topic]), size=int(rng.integers(1, 3)), replace=False)
        words = _concept_words(topics[topic], chosen, language)
        keys = {f"{topic}:{i}" for i in chosen}
        if rng.random() < 0.15:  # a stray word of another topic: "mostly" one topic
            other = str(rng.choice([t for t in everything if t != topic]))
            stray = int(rng.integers(len(everything[other])))
            words.append(everything[other][stray][LANGUAGES.index(language)])
            keys.add(f"{other}:{stray}")
        if len(words) < 2 or rng.random() < 0.4:
            words.append(str(rng.choice(FILLER[language])))
        popularity = rng.lognormal(np.log(1.5), 0.8)
        rows.append((language, topic, frozenset(keys), " ".join(rng.permutation(words)), popularity))
    queries = pd.DataFrame(rows, columns=["language", "topic", "concepts", "query", "popularity"])
    queries.insert(0, "query_id", [f"q-{n:04d}" for n in range(first, first + count)])
    return queries


def _candidates(
    rng: np.random.Generator, queries: pd.DataFrame, docs: pd.DataFrame, per_query: int
) -> pd.DataFrame:
    """Each query's fixed result list: half its topic in its language, one of its topic in another
    language, the rest off topic; with the latent relevance and the position it is shown at."""
    rows = []
    for query in queries.itertuples():
        same_topic, same_language = docs["topic"] == query.topic, docs["language"] == query.language
        pools = [
            (same_topic & same_language, per_query // 2),
            (same_topic & ~same_language, 1),
            (~same_topic & same_language, per_query - per_query // 2 - 1),
        ]
        chosen = np.concatenate(
            [rng.choice(np.flatnonzero(pool), size=n, replace=False) for pool, n in pools]
        )
        shown = docs.iloc[chosen]
        overlap = np.array([len(query.concepts & concepts) for concepts in shown["concepts"]])
        score = (
            1.3 * (shown["topic"] == query.topic).to_numpy()
            + 0.9 * np.minimum(overlap, 2)
            - 0.8 * (shown["language"] != query.language).to_numpy()
            + rng.normal(0, 0.45, size=len(shown))  # what the text does not show
        )
        latent = np.clip(np.rint(score), 0, 3).astype("int64")
        # Today's ranker orders the list by a noisy view of relevance; position 0 is the top.
        position = np.argsort(np.argsort(-(latent + rng.normal(0, 1.0, size=len(shown)))))
        for doc_id, document, published, rel, pos in zip(
            shown["doc_id"], shown["document"], shown["published"], latent, position, strict=True
        ):
            rows.append((query.query_id, doc_id, document, published, rel, pos))
    return pd.DataFrame(
        rows, columns=["query_id", "doc_id", "document", "published", "latent_relevance", "position"]
    )


def _world(
    rng: np.random.Generator, scenario: SearchScenario, queries: pd.DataFrame, docs: pd.DataFrame
) -> pd.DataFrame:
    pairs = _candidates(rng, queries, docs, scenario.docs_per_query)
    return pairs.merge(queries[["query_id", "query", "language", "topic", "popularity"]], on="query_id")


def _traffic(
    seed: list[int], world: pd.DataFrame, days: pd.DatetimeIndex, start: date, per_day: int
) -> list[pd.DataFrame]:
    # One generator a day, keyed by the day: a day's rows do not depend on the days around it.
    return [
        day_of_logs(np.random.default_rng([*seed, (day.date() - start).days]), world, day, per_day)
        for day in days
    ]


def _shifted_traffic(scenario: SearchScenario, docs: pd.DataFrame) -> list[pd.DataFrame]:
    if scenario.shift is None or scenario.shift_start is None:
        return []
    rng = np.random.default_rng([scenario.seed, 1, SHIFT_KINDS.index(scenario.shift)])
    first_query = scenario.queries + 1
    if scenario.shift == "new_topics":
        # News of topics that did not exist: published in the month before they are searched for.
        new_docs = _documents(
            rng, SHIFT_TOPICS, scenario.docs_per_topic, len(docs) + 1, scenario.shift_start, max_age_days=30
        )
        queries = _queries(rng, SHIFT_TOPICS, max(1, scenario.queries // 2), first_query, LANGUAGE_SHARES)
        docs, per_day = pd.concat([docs, new_docs], ignore_index=True), max(1, scenario.queries_per_day // 2)
    else:  # language_mix: a market opens; its traffic, twice the old, is in the rare language
        only_rare = (np.array(LANGUAGES) == RARE_LANGUAGE).astype(float)
        queries = _queries(rng, TOPICS, scenario.queries, first_query, only_rare)
        per_day = 2 * scenario.queries_per_day
    world = _world(rng, scenario, queries, docs)
    last = scenario.start + timedelta(days=scenario.days - 1)
    days = pd.date_range(max(scenario.shift_start, scenario.start), last, freq="D")
    return _traffic([scenario.seed, 3], world, days, scenario.start, per_day)


def generate_logs(scenario: SearchScenario) -> pd.DataFrame:
    """Every day's logs, with each pair's latent relevance, position and the day it was reported."""
    rng = np.random.default_rng([scenario.seed, 0])
    docs = _documents(rng, TOPICS, scenario.docs_per_topic, 1, scenario.start - timedelta(days=1), 730)
    queries = _queries(rng, TOPICS, scenario.queries, 1, LANGUAGE_SHARES)
    world = _world(rng, scenario, queries, docs)
    days = pd.date_range(scenario.start, periods=scenario.days, freq="D")
    base = _traffic([scenario.seed, 2], world, days, scenario.start, scenario.queries_per_day)
    logs = pd.concat([*base, *_shifted_traffic(scenario, docs)], ignore_index=True)
    logs["published"] = pd.to_datetime(logs["published"])
    logs["reported_on"] = logs["date"] + pd.Timedelta(days=scenario.report_delay_days)
    columns = [*BATCH_COLUMNS, "latent_relevance", "position", "reported_on"]
    return logs[columns].sort_values(["date", "query_id", "doc_id"], ignore_index=True)


def batches_by_logical_date(scenario: SearchScenario) -> dict[date, pd.DataFrame]:
    """The batches that arrive each day, keyed by logical date (the day they were reported).

    Logical dates run from ``start + report_delay_days`` to ``start + days``; each carries the
    logs of the day ``report_delay_days`` before it. Later reports fall outside the scenario.
    """
    logs = generate_logs(scenario)
    last = pd.Timestamp(scenario.start + timedelta(days=scenario.days))
    batches = {}
    for reported_on, rows in logs[logs["reported_on"] <= last].groupby("reported_on"):
        batch = rows[BATCH_COLUMNS].copy()
        for column in ("date", "published"):
            batch[column] = batch[column].dt.strftime("%Y-%m-%d")
        batches[pd.Timestamp(reported_on).date()] = batch.reset_index(drop=True)
    return batches
