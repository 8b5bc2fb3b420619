"""Text columns in the drift report: which texts Evidently's domain classifier compares.

Evidently tells text drift by training a classifier (TF-IDF words, a linear model) to tell
reference texts from current ones on a random half of the rows, and asking whether it does
better on the other half than a random classifier would (``perc_text_content_drift``).
Fed served rows as they are, that test is not sound for a search log: a query is repeated
on each row of its result list and on every day it is searched, so a text lands in both
halves and the classifier recognises it rather than learning what new text looks like
(queries of a clean week of the sample data: ROC AUC 0.77, drift). Fed each frame's
distinct texts, a text both frames hold is labelled one way in one half and the other
way in the other, which pulls the score below chance (0.37) and hides real drift.

So each text is compared once: the reference holds every distinct text the champion was
trained or tested on, the current holds the distinct served texts that are none of them
(against the test set alone, five days' draw from the queries people ask, a clean
week's everyday queries would count as new).
The question asked is the one that matters for a text model: do the texts it has not
seen look like the ones it has? A window with fewer unseen texts than the config's
``triggers.drift.min_new_texts`` has nothing new to judge, and its column counts as not
drifted. Known texts served in new proportions are not text drift by this test; the
click features, the predictions and the live NDCG see them.

A text column's cells outside its sample are left empty, so one report and one frame
hold both the served rows (numeric columns, predictions) and the texts: Evidently drops
a column's empty cells before testing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

TEXT_METHOD = "perc_text_content_drift"


@dataclass(frozen=True)
class TextSample:
    """What one text column compares: known texts against unseen served ones."""

    column: str
    known: int
    served: int
    unseen: int
    unseen_row_share: float  # of the served rows, those whose text is unseen
    judged: bool  # enough unseen texts to tell anything


def text_samples(
    known: dict[str, pd.Series],
    current: pd.DataFrame,
    *,
    min_new_texts: int,
    limit: int | None = None,
    seed: int = 0,
) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, TextSample]]:
    """Per text column of ``known`` (every text the champion was trained or tested on):
    the reference texts, the served texts it lacks, and a summary of both (judged with at
    least ``min_new_texts`` unseen). Either side is sampled down to ``limit`` texts with
    ``seed``; what counts as unseen never is."""
    import pandas as pd

    def sampled(texts: set[str]) -> list[str]:
        ordered = pd.Series(sorted(texts), dtype="object")
        if limit is not None and len(ordered) > limit:
            ordered = ordered.sample(limit, random_state=seed).sort_values()
        return ordered.tolist()

    references: dict[str, list[str]] = {}
    unseen: dict[str, list[str]] = {}
    samples: dict[str, TextSample] = {}
    for column, texts in known.items():
        seen = set(texts.dropna().astype(str))
        served = current[column].dropna().astype(str)
        new = set(served) - seen
        references[column], unseen[column] = sampled(seen), sampled(new)
        share = float((~served.isin(seen)).mean()) if len(served) else 0.0
        samples[column] = TextSample(
            column, len(seen), served.nunique(), len(new), round(share, 4), len(new) >= min_new_texts
        )
    return references, unseen, samples


def with_texts(frame: pd.DataFrame, texts: dict[str, list[str]]) -> pd.DataFrame:
    """``frame`` with each column of ``texts`` replaced by those texts, one a row, the
    rest empty; rows are added (empty but for the texts) where the texts outnumber them."""
    import pandas as pd

    length = max([len(frame), *(len(values) for values in texts.values())])
    padded = frame.drop(columns=list(texts)).reset_index(drop=True).reindex(range(length))
    for column, values in texts.items():
        padded[column] = pd.Series(values, dtype="string").reindex(range(length))
    return padded
