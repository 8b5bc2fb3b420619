from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from pipelines.samples.search import (
    BATCH_COLUMNS,
    RARE_LANGUAGE,
    SearchScenario,
    batches_by_logical_date,
    generate_logs,
)
from pipelines.samples.search_clicks import DWELL_GRADE_BOUNDS
from pipelines.samples.search_words import FILLER, LANGUAGES, SHIFT_TOPICS, TOPICS, vocabulary

START = date(2024, 1, 1)
SHIFT_START = START + timedelta(days=20)
KEYS = ["date", "query_id", "doc_id"]


def scenario(**overrides) -> SearchScenario:
    return SearchScenario(**{"start": START, "days": 30, "seed": 3, **overrides})


@pytest.fixture(scope="module")
def logs() -> pd.DataFrame:
    return generate_logs(scenario(days=60))


def spearman(a: pd.Series, b: pd.Series) -> float:
    return float(a.corr(b, method="spearman"))


def test_same_seed_same_data_other_seed_other_data():
    pd.testing.assert_frame_equal(generate_logs(scenario()), generate_logs(scenario()))
    assert not generate_logs(scenario()).equals(generate_logs(scenario(seed=4)))


def test_a_days_rows_do_not_depend_on_the_days_that_follow(logs):
    shorter = generate_logs(scenario(days=30))
    pd.testing.assert_frame_equal(shorter, logs[logs["date"] < pd.Timestamp(START + timedelta(days=30))])


def test_each_day_issues_its_share_of_queries_with_all_their_candidates(logs):
    per_day = logs.groupby("date").agg(queries=("query_id", "nunique"), rows=("doc_id", "size"))
    assert (per_day["queries"] == 40).all() and (per_day["rows"] == 400).all()
    assert logs["query_id"].nunique() > 150, "most of the pool of 200 is searched within 60 days"
    candidates = logs.groupby("query_id")["doc_id"].agg(lambda ids: frozenset(ids))
    assert logs.groupby("query_id")["doc_id"].nunique().eq(10).all(), "a query's list is fixed"
    assert candidates.nunique() == len(candidates)
    assert not logs.duplicated(KEYS).any()


def test_clicks_dwell_and_the_label_are_consistent(logs):
    assert (logs["impressions"] >= 1).all()
    assert logs["clicks"].between(0, logs["impressions"]).all()
    assert logs["relevance"].isin([0, 1, 2, 3]).all()
    clicked = logs["clicks"] > 0
    assert (logs.loc[~clicked, ["dwell_seconds", "relevance"]] == 0).all().all()
    assert (logs.loc[clicked, "dwell_seconds"] > 0).all() and (logs.loc[clicked, "relevance"] >= 1).all()
    short, medium = DWELL_GRADE_BOUNDS
    graded = pd.cut(logs.loc[clicked, "dwell_seconds"], [0, short, medium, float("inf")], right=False)
    assert (graded.cat.codes + 1 == logs.loc[clicked, "relevance"]).all()
    assert (logs["published"] <= logs["date"]).all()


def test_the_label_is_a_noisy_reading_of_the_latent_relevance(logs):
    assert set(logs["latent_relevance"]) == {0, 1, 2, 3}
    assert set(logs["relevance"]) == {0, 1, 2, 3}
    mean_label = logs.groupby("latent_relevance")["relevance"].mean()
    assert mean_label.is_monotonic_increasing
    assert 0.5 < spearman(logs["relevance"], logs["latent_relevance"]) < 0.9
    assert (logs["relevance"] != logs["latent_relevance"]).mean() > 0.2


def test_click_history_predicts_the_label_only_in_part(logs):
    pair = logs.groupby(["query_id", "doc_id"])
    seen_clicks = pair["clicks"].cumsum() - logs["clicks"]
    seen_impressions = pair["impressions"].cumsum() - logs["impressions"]
    known = seen_impressions > 0
    history_ctr = seen_clicks[known] / seen_impressions[known]
    assert 0.3 < spearman(history_ctr, logs.loc[known, "relevance"]) < 0.8


def test_the_text_carries_relevance_too(logs):
    def shared_words(row: pd.Series) -> int:
        filler = set(FILLER[row["language"]])
        return len((set(row["query"].split()) - filler) & set(row["document"].split()))

    shared = logs.apply(shared_words, axis=1)
    assert logs.loc[shared > 0, "relevance"].mean() > 2 * logs.loc[shared == 0, "relevance"].mean()


def test_results_shown_higher_are_clicked_more_at_equal_relevance(logs):
    shown = logs.assign(top=logs["position"] < 3)
    ctr = shown.groupby(["latent_relevance", "top"])[["clicks", "impressions"]].sum()
    ctr = (ctr["clicks"] / ctr["impressions"]).unstack("top")
    assert (ctr[True] > 1.2 * ctr[False]).all()


def test_every_word_is_in_the_vocabulary():
    words = vocabulary()
    assert words == sorted(set(words))
    assert all(word.isascii() and word.isalpha() and word.islower() for word in words)
    emitted: set[str] = set()
    for kind in ("new_topics", "language_mix"):
        shifted = generate_logs(scenario(shift=kind, shift_start=SHIFT_START))
        for column in ("query", "document"):
            emitted |= {word for text in shifted[column] for word in text.split()}
    assert emitted <= set(words)
    assert {concept[LANGUAGES.index("de")] for concept in SHIFT_TOPICS["space"]} <= set(words)


def test_a_batch_holds_the_logs_of_the_day_before_its_logical_date():
    batches = batches_by_logical_date(scenario())
    assert min(batches) == START + timedelta(days=1)
    assert max(batches) == START + timedelta(days=30)
    for logical_date, batch in batches.items():
        assert list(batch.columns) == BATCH_COLUMNS
        assert set(batch["date"]) == {(logical_date - timedelta(days=1)).isoformat()}
        assert (batch["published"] <= batch["date"]).all()


@pytest.mark.parametrize("kind", ["new_topics", "language_mix"])
def test_a_shift_only_adds_rows_from_its_start(kind):
    clean = generate_logs(scenario())
    shifted = generate_logs(scenario(shift=kind, shift_start=SHIFT_START))
    kept = shifted.merge(clean[KEYS], on=KEYS)
    pd.testing.assert_frame_equal(kept, clean)
    added = shifted[~shifted["query_id"].isin(clean["query_id"])]
    assert len(added) == len(shifted) - len(clean) > 0
    assert added["date"].min() == pd.Timestamp(SHIFT_START)
    after = shifted[shifted["date"] >= pd.Timestamp(SHIFT_START)]
    if kind == "new_topics":
        assert set(added["topic"]) == set(SHIFT_TOPICS)
        assert not set(clean["topic"]) & set(SHIFT_TOPICS)
        new_docs = added[added["doc_id"] > f"d-{len(TOPICS) * len(LANGUAGES) * 12:05d}"]
        assert (new_docs["published"] >= pd.Timestamp(SHIFT_START - timedelta(days=30))).all()
    else:
        assert set(added["language"]) == {RARE_LANGUAGE} and set(added["topic"]) <= set(TOPICS)
        assert (clean["language"] == RARE_LANGUAGE).mean() < 0.15
        assert (after["language"] == RARE_LANGUAGE).mean() > 0.6


def test_a_shift_needs_a_known_kind_and_a_start_day():
    with pytest.raises(ValueError, match="shift_start"):
        SearchScenario(start=START, days=10, shift="new_topics")
    with pytest.raises(ValueError, match="unknown shift 'scale'; use one of new_topics, language_mix"):
        SearchScenario(start=START, days=10, shift="scale", shift_start=START)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="exceeds the pool"):
        SearchScenario(start=START, days=10, queries=10, queries_per_day=20)
