"""Evidently's text drift as the monitor feeds it, on the search generator's text alone:
a new world of queries and documents drawn like the old one is not drift, though every
text in it is new; the same world after a language_mix or new_topics shift is."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines.config.load import load_model_config
from pipelines.monitor.drift import drift_report
from pipelines.monitor.text_drift import text_samples, with_texts
from pipelines.samples.search import SearchScenario, ShiftKind, generate_logs

START, SHIFT_START, TEXT = date(2024, 1, 1), date(2024, 2, 7), ["query", "document"]


def week(seed: int = 0, shift: ShiftKind | None = None) -> pd.DataFrame:
    """The week after the shift starts; 40 queries a day, as the generator's default."""
    days = (SHIFT_START - START).days + 7
    logs = generate_logs(SearchScenario(start=START, days=days, seed=seed, shift=shift,
                                        shift_start=SHIFT_START if shift else None))  # fmt: skip
    return logs[logs["date"] >= pd.Timestamp(SHIFT_START)]


@pytest.fixture(scope="module")
def known() -> dict[str, pd.Series]:
    """What a champion trained on the five weeks before the shift saw."""
    logs = generate_logs(SearchScenario(start=START, days=(SHIFT_START - START).days - 2))
    return {column: logs[column] for column in TEXT}


@pytest.mark.parametrize(
    ("served", "columns", "drifts"),
    [
        (lambda: week(seed=1), TEXT, False),
        # Its new queries are Spanish; its documents are mostly ones already shown.
        (lambda: week(shift="language_mix"), ["query"], True),
        (lambda: week(shift="new_topics"), ["document"], True),
    ],
    ids=["a new world like the old", "language_mix", "new_topics"],
)
def test_new_text_drifts_only_when_it_reads_unlike_the_known(known, served, columns, drifts):
    config = load_model_config("search_relevance")
    current = served()[columns]
    minimum = config.triggers.drift.min_new_texts
    references, unseen, samples = text_samples({c: known[c] for c in columns}, current, min_new_texts=minimum)
    assert all(sample.judged for sample in samples.values())
    _, drifted = drift_report(
        with_texts(pd.DataFrame(columns=columns), references), with_texts(current, unseen), config, columns
    )
    assert set(drifted) == (set(columns) if drifts else set()), {c: s.unseen for c, s in samples.items()}


def test_a_clean_week_of_the_same_world_holds_too_few_unseen_texts_to_judge(known):
    minimum = load_model_config("search_relevance").triggers.drift.min_new_texts
    _, _, samples = text_samples(known, week(), min_new_texts=minimum)
    assert not any(sample.judged for sample in samples.values()), samples
