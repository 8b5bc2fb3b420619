"""Evaluation on the test set, overall and per slice: RMSE, MAE and MAPE for a regression,
NDCG@10 and MRR per result list for a ranking model (a config with ``ranking``).

Each metric is a statistic of per-unit values (a row's error, a result list's NDCG), so
the gates can resample the units of two models in pairs (see ``units``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.errors import MissingInputError
from pipelines.features.store import EVENT_TIMESTAMP

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from pipelines.config.model import ModelConfig

PREDICTION = "prediction"
HIGHER_IS_BETTER = frozenset({"ndcg_at_10", "mrr"})


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """MAPE counts only rows with a non-zero actual: a day without freight has no percentage."""
    error = predicted - actual
    nonzero = actual != 0
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "mape": float(np.mean(np.abs(error[nonzero] / actual[nonzero])) * 100)
        if nonzero.any()
        else float("nan"),
        "rows": float(len(actual)),
    }


def result_lists(scored: pd.DataFrame, config: ModelConfig) -> pd.DataFrame:
    """Per result list (a query on a day) of a scored ranking test set: NDCG@10, reciprocal
    rank, and the slice values of its query."""
    assert config.ranking is not None
    keys = [config.ranking.query_key, EVENT_TIMESTAMP]
    lists = per_list(
        scored,
        list_keys=keys,
        grade=config.target,
        score=PREDICTION,
        relevant_from=config.ranking.relevant_from,
    )
    slices = [c for c in config.slices if c not in keys]
    if slices:
        lists = lists.merge(scored.drop_duplicates(keys)[[*keys, *slices]], on=keys, how="left")
    return lists


def ranking_metrics(lists: pd.DataFrame) -> dict[str, float]:
    """Means over the lists with something relevant in them (NaN when none has)."""
    ndcg, reciprocal = lists["ndcg_at_10"].dropna(), lists["reciprocal_rank"].dropna()
    return {
        "ndcg_at_10": float(ndcg.mean()) if len(ndcg) else float("nan"),
        "mrr": float(reciprocal.mean()) if len(reciprocal) else float("nan"),
        "lists": float(len(lists)),
        "rows": float(lists["documents"].sum()),
    }


def units(scored: pd.DataFrame, config: ModelConfig, metric: str) -> tuple[np.ndarray, Callable[..., Any]]:
    """The per-unit values of ``metric`` on a scored test set and the statistic that turns
    them into the metric (``statistic(values, axis=-1)``): rows for errors, result lists
    for ranking metrics. Units without a value (a list with nothing relevant) are left out;
    which they are depends only on the labels, so two models' units always pair up."""
    if metric in HIGHER_IS_BETTER:
        column = {"ndcg_at_10": "ndcg_at_10", "mrr": "reciprocal_rank"}[metric]
        values = result_lists(scored, config)[column].dropna().to_numpy(dtype="float64")
        return values, np.mean
    actual = scored[config.target].to_numpy(dtype="float64")
    error = scored[PREDICTION].to_numpy(dtype="float64") - actual
    if metric == "rmse":
        return error**2, lambda v, axis=-1: np.sqrt(np.mean(v, axis=axis))
    if metric == "mae":
        return np.abs(error), np.mean
    nonzero = actual != 0
    return np.abs(error[nonzero] / actual[nonzero]), lambda v, axis=-1: np.mean(v, axis=axis) * 100


def is_better(metric: str, value: float, than: float) -> bool:
    return value > than if metric in HIGHER_IS_BETTER else value < than


@dataclass(frozen=True)
class Evaluation:
    overall: dict[str, float]
    slices: dict[str, dict[str, dict[str, float]]]  # slice column -> value -> metrics

    def flat(self) -> dict[str, float]:
        """MLflow metric names: ``rmse``, ``slice.region.north.rmse`` ..."""
        metrics = dict(self.overall)
        for column, values in self.slices.items():
            for value, numbers in values.items():
                safe = re.sub(r"[^A-Za-z0-9_\-]", "_", value)
                metrics.update({f"slice.{column}.{safe}.{k}": v for k, v in numbers.items()})
        return metrics


def check_slices(train: pd.DataFrame, test: pd.DataFrame, config: ModelConfig) -> None:
    """Raises MissingInputError when a configured slice has no value in common between the
    training and the test set: its per-slice metrics would compare nothing."""
    for column in config.slices:
        shared = set(test[column].dropna()) & set(train[column].dropna())
        if not shared:
            raise MissingInputError(
                f"the test set shares no {column!r} value with the training set"
                f" (test: {sorted(map(str, set(test[column].dropna())))[:5]});"
                " widen split.test_days or remove the slice from the config"
            )


def evaluate_predictions(scored: pd.DataFrame, config: ModelConfig) -> Evaluation:
    """Metrics of a scored test set (the target column and ``prediction``)."""
    if scored.empty:
        raise MissingInputError("the test set is empty; nothing to evaluate")
    if config.ranking is not None:
        lists = result_lists(scored, config)
        slices = {
            column: {
                str(value): ranking_metrics(rows) for value, rows in lists.groupby(column, observed=True)
            }
            for column in config.slices
        }
        return Evaluation(ranking_metrics(lists), slices)

    def metrics(rows: pd.DataFrame) -> dict[str, float]:
        return regression_metrics(
            rows[config.target].to_numpy(dtype="float64"), rows[PREDICTION].to_numpy(dtype="float64")
        )

    slices = {
        column: {str(value): metrics(rows) for value, rows in scored.groupby(column, observed=True)}
        for column in config.slices
    }
    return Evaluation(metrics(scored), slices)


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
