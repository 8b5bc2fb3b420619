"""Ranking metrics per result list: NDCG@10 and reciprocal rank.

A result list is the rows sharing a query and a day, ordered by the model's score. Gains
are graded (``2**grade - 1``) with the usual ``log2(position + 1)`` discount. A list with
nothing relevant has no NDCG and no reciprocal rank: it says nothing about the ranking,
so it is left out of the means (and its value is NaN here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

CUTOFF = 10


def per_list(
    frame: pd.DataFrame, *, list_keys: list[str], grade: str, score: str, relevant_from: int
) -> pd.DataFrame:
    """One row per result list: its keys, ``ndcg_at_10``, ``reciprocal_rank`` and ``documents``."""
    import pandas as pd

    by_score = frame.sort_values(
        [*list_keys, score], ascending=[True] * len(list_keys) + [False], kind="stable"
    )
    by_grade = frame.sort_values(
        [*list_keys, grade], ascending=[True] * len(list_keys) + [False], kind="stable"
    )
    position = by_score.groupby(list_keys, sort=False).cumcount().to_numpy() + 1
    ideal_position = by_grade.groupby(list_keys, sort=False).cumcount().to_numpy() + 1

    def dcg(rows: pd.DataFrame, positions: np.ndarray) -> pd.Series:
        gains = (2.0 ** rows[grade].to_numpy(dtype="float64") - 1) / np.log2(positions + 1)
        gains[positions > CUTOFF] = 0.0
        return pd.Series(gains, index=rows.index).groupby([rows[k] for k in list_keys]).sum()

    actual, ideal = dcg(by_score, position), dcg(by_grade, ideal_position)
    relevant = by_score[grade].to_numpy() >= relevant_from
    first_relevant = (
        pd.Series(np.where(relevant, position, np.inf), index=by_score.index)
        .groupby([by_score[k] for k in list_keys])
        .min()
    )
    lists = pd.DataFrame(
        {
            "ndcg_at_10": (actual / ideal.where(ideal > 0)).to_numpy(),
            "reciprocal_rank": (1.0 / first_relevant.where(np.isfinite(first_relevant))).to_numpy(),
            "documents": by_score.groupby(list_keys).size().to_numpy(),
        },
        index=actual.index,
    )
    return lists.reset_index()
