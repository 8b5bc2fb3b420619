"""Evaluation: RMSE, MAE and MAPE overall and per slice, on the test set."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipelines.errors import MissingInputError

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.config import ModelConfig

PREDICTION = "prediction"


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

    def metrics(rows: pd.DataFrame) -> dict[str, float]:
        return regression_metrics(
            rows[config.target].to_numpy(dtype="float64"), rows[PREDICTION].to_numpy(dtype="float64")
        )

    slices = {
        column: {str(value): metrics(rows) for value, rows in scored.groupby(column, observed=True)}
        for column in config.slices
    }
    return Evaluation(metrics(scored), slices)
