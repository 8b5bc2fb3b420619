"""Preprocessing fitted on the training set only and saved inside the model, so inference
applies exactly the steps training used."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd

UNKNOWN = 0  # index of a category never seen in training


@dataclass(frozen=True)
class Preprocessor:
    numeric: list[str]
    categorical: list[str]
    means: list[float]
    scales: list[float]
    vocabularies: dict[str, list[str]]
    target_mean: float
    target_scale: float

    @classmethod
    def fit(
        cls, train: pd.DataFrame, numeric: list[str], categorical: list[str], target: str
    ) -> Preprocessor:
        values = train[numeric].astype("float64")
        means = values.mean().fillna(0.0)
        scales = values.std(ddof=0).fillna(1.0).replace(0.0, 1.0)
        vocabularies = {c: sorted(train[c].dropna().astype(str).unique().tolist()) for c in categorical}
        y = train[target].astype("float64")
        return cls(
            numeric=numeric,
            categorical=categorical,
            means=[float(v) for v in means],
            scales=[float(v) for v in scales],
            vocabularies=vocabularies,
            target_mean=float(y.mean()),
            target_scale=float(y.std(ddof=0) or 1.0),
        )

    def numeric_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Standardised numeric features; a missing value becomes the training mean (0)."""
        values = frame[self.numeric].to_numpy(dtype="float64", na_value=np.nan)
        standardised = (values - np.array(self.means)) / np.array(self.scales)
        return np.nan_to_num(standardised, nan=0.0).astype("float32")

    def category_matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Category indices, 1-based; unseen or missing categories map to UNKNOWN."""
        columns = []
        for column, index in zip(self.categorical, self._indexes, strict=True):
            raw = frame[column].astype("string").fillna("")
            columns.append(raw.map(index).fillna(UNKNOWN).to_numpy(dtype="int64"))
        if not columns:
            return np.zeros((len(frame), 0), dtype="int64")
        return np.stack(columns, axis=1)

    # The same two matrices from records (one dict a row), without pandas: serving scores a
    # few rows a request, where building a DataFrame costs more than the model does.
    def numeric_rows(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        values = np.array(
            [[np.nan if row[c] is None else row[c] for c in self.numeric] for row in rows], dtype="float64"
        ).reshape(len(rows), len(self.numeric))
        standardised = (values - np.array(self.means)) / np.array(self.scales)
        return np.nan_to_num(standardised, nan=0.0).astype("float32")

    def category_rows(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        return np.array(
            [
                [index.get("" if row[c] is None else str(row[c]), UNKNOWN)
                 for c, index in zip(self.categorical, self._indexes, strict=True)]
                for row in rows
            ],
            dtype="int64",
        ).reshape(len(rows), len(self.categorical))  # fmt: skip

    @cached_property
    def _indexes(self) -> list[dict[str, int]]:
        return [
            {value: position + 1 for position, value in enumerate(self.vocabularies[column])}
            for column in self.categorical
        ]

    def scale_target(self, values: pd.Series) -> np.ndarray:
        return ((values.to_numpy(dtype="float64") - self.target_mean) / self.target_scale).astype("float32")

    def unscale_target(self, values: np.ndarray) -> np.ndarray:
        return values.astype("float64") * self.target_scale + self.target_mean

    def cardinalities(self) -> list[int]:
        return [len(self.vocabularies[c]) + 1 for c in self.categorical]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        return cls(**data)
