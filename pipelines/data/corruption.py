"""Ways a batch goes wrong in production, to prove that validation catches each of them."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Literal

import numpy as np
import pandas as pd

CorruptionKind = Literal[
    "nulls",
    "negative_volume",
    "out_of_range_dates",
    "renamed_column",
    "retyped_column",
    "duplicate_keys",
    "empty_file",
    "malformed_csv",
    "huge_batch",
]
CORRUPTION_KINDS: tuple[CorruptionKind, ...] = (
    "nulls",
    "negative_volume",
    "out_of_range_dates",
    "renamed_column",
    "retyped_column",
    "duplicate_keys",
    "empty_file",
    "malformed_csv",
    "huge_batch",
)


def batch_to_csv(batch: pd.DataFrame) -> bytes:
    return batch.to_csv(index=False).encode()


def corrupt_batch(
    batch: pd.DataFrame,
    kind: CorruptionKind,
    *,
    logical_date: date,
    max_rows: int,
    seed: int = 0,
) -> bytes:
    """Return ``batch`` as CSV bytes with one kind of corruption applied."""
    rng = np.random.default_rng(seed)
    frame = batch.copy()
    some = rng.choice(len(frame), size=max(1, len(frame) // 10), replace=False)
    if kind == "nulls":
        frame["volume"] = frame["volume"].astype("Int64")
        frame.loc[some, "volume"] = pd.NA
        frame.loc[some[:1], "origin"] = None
    elif kind == "negative_volume":
        frame.loc[some, "volume"] = -frame.loc[some, "volume"] - 1
    elif kind == "out_of_range_dates":
        frame.loc[some[:1], "date"] = "1970-01-01"
        frame.loc[some[1:], "date"] = (logical_date + timedelta(days=400)).isoformat()
    elif kind == "renamed_column":
        frame = frame.rename(columns={"volume": "car_loads"})
    elif kind == "retyped_column":
        frame["volume"] = frame["volume"].map(lambda v: f"{v} cars")
    elif kind == "duplicate_keys":
        duplicates = frame.loc[some].copy()
        duplicates["volume"] = duplicates["volume"] + 7
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
            [frame.assign(origin=frame["origin"] + f"/{n}") for n in range(copies)],
            ignore_index=True,
        )
    else:
        raise ValueError(f"unknown corruption {kind!r}; use one of {', '.join(CORRUPTION_KINDS)}")
    return batch_to_csv(frame)
