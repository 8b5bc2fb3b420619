"""Ways a batch goes wrong in production, to prove that validation catches each of them.

The corruptions aim at a source's columns by role (its target, a key, its timestamp), read
from the model config, so every source with a generator gets every kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from pipelines.config.model import ModelConfig

CorruptionKind = Literal[
    "nulls",
    "negative_target",
    "out_of_range_dates",
    "renamed_column",
    "retyped_column",
    "duplicate_keys",
    "empty_file",
    "malformed_csv",
    "huge_batch",
]
CORRUPTION_KINDS: tuple[CorruptionKind, ...] = get_args(CorruptionKind)


@dataclass(frozen=True)
class BatchColumns:
    """The columns the corruptions aim at."""

    target: str  # the label, an int: nulled, negated, renamed, retyped, changed in a duplicate
    key: str  # a text key: nulled, and varied to make a huge batch's rows distinct
    timestamp: str  # a YYYY-MM-DD column: moved out of the batch's date window


def batch_columns(config: ModelConfig) -> BatchColumns:
    return BatchColumns(config.target, config.entity_keys[0], config.timestamp_column)


def batch_to_csv(batch: pd.DataFrame) -> bytes:
    return batch.to_csv(index=False).encode()


def corrupt_batch(
    batch: pd.DataFrame,
    kind: CorruptionKind,
    *,
    columns: BatchColumns,
    logical_date: date,
    max_rows: int,
    seed: int = 0,
) -> bytes:
    """Return ``batch`` as CSV bytes with one kind of corruption applied to ``columns``."""
    rng = np.random.default_rng(seed)
    frame = batch.copy()
    target, key = columns.target, columns.key
    some = rng.choice(len(frame), size=max(1, len(frame) // 10), replace=False)
    if kind == "nulls":
        frame[target] = frame[target].astype("Int64")
        frame.loc[some, target] = pd.NA
        frame.loc[some[:1], key] = None
    elif kind == "negative_target":
        frame.loc[some, target] = -frame.loc[some, target] - 1
    elif kind == "out_of_range_dates":
        frame.loc[some[:1], columns.timestamp] = "1970-01-01"
        frame.loc[some[1:], columns.timestamp] = (logical_date + timedelta(days=400)).isoformat()
    elif kind == "renamed_column":
        # Upstream renamed the column; the commonest rename is a change of case.
        frame = frame.rename(columns={target: target.capitalize()})
    elif kind == "retyped_column":
        frame[target] = frame[target].map(lambda v: f"{v} units")
    elif kind == "duplicate_keys":
        duplicates = frame.loc[some].copy()
        # A value still valid on its own (0 or more, and next to the original), so that only
        # the shared key gives it away.
        values = duplicates[target]
        duplicates[target] = np.where(values > 0, values - 1, values + 1)
        frame = pd.concat([frame, duplicates], ignore_index=True)
    elif kind == "empty_file":
        return b""
    elif kind == "malformed_csv":
        lines = batch_to_csv(frame).decode().splitlines()
        for index in some + 1:  # +1 skips the header
            lines[index] = lines[index] + ',"unterminated'
        return ("\n".join(lines) + "\n").encode()
    elif kind == "huge_batch":
        copies = math.ceil((max_rows + 1) / len(frame))
        frame = pd.concat(
            [frame.assign(**{key: frame[key] + f"/{n}"}) for n in range(copies)],
            ignore_index=True,
        )
    else:
        raise ValueError(f"unknown corruption {kind!r}; use one of {', '.join(CORRUPTION_KINDS)}")
    return batch_to_csv(frame)
