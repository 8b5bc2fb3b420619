"""(query, document) pairs into token tensors: one path for training, prediction and serving.

``encode_pairs`` tokenizes (unpadded, truncated); ``PairBatches`` pads each batch to its own
longest pair (dynamic padding) and adds the numeric features and, in training, the target.
``length_bucketed_batches`` groups pairs of similar length so that padding stays small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

# Pairs are sorted by length within chunks of this many batches: enough to bucket well, few
# enough that each batch still mixes pairs from across the (shuffled) training set.
BUCKET_BATCHES = 50


@dataclass(frozen=True)
class EncodedPairs:
    input_ids: list[list[int]]
    token_type_ids: list[list[int]]

    def __len__(self) -> int:
        return len(self.input_ids)

    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.input_ids), dtype="int64", count=len(self.input_ids))


def text_values(values: Iterable[Any]) -> list[str]:
    """Text cells as strings; a missing one (None or NaN) is the empty string."""
    return ["" if value is None or (isinstance(value, float) and value != value) else str(value)
            for value in values]  # fmt: skip


def encode_pairs(
    tokenizer: PreTrainedTokenizerFast, queries: Sequence[str], documents: Sequence[str], max_length: int
) -> EncodedPairs:
    """``[CLS] query [SEP] document [SEP]`` token ids and segment ids, the longer side truncated
    first to ``max_length`` tokens, unpadded."""
    if not queries:
        return EncodedPairs([], [])
    encoded = tokenizer(
        list(queries),
        list(documents),
        truncation="longest_first",
        max_length=max_length,
        padding=False,
        return_token_type_ids=True,
        return_attention_mask=False,
    )
    return EncodedPairs(encoded["input_ids"], encoded["token_type_ids"])


@dataclass(frozen=True)
class PairBatches:
    """Collates row indices into one padded batch of tensors (a DataLoader's ``collate_fn``)."""

    encoded: EncodedPairs
    numeric: np.ndarray
    target: np.ndarray | None
    pad_token_id: int

    def __call__(self, rows: Sequence[int] | np.ndarray) -> dict[str, torch.Tensor]:
        selected = [self.encoded.input_ids[row] for row in rows]
        width = max(len(ids) for ids in selected)
        input_ids = np.full((len(rows), width), self.pad_token_id, dtype="int64")
        token_type_ids = np.zeros((len(rows), width), dtype="int64")
        attention_mask = np.zeros((len(rows), width), dtype="int64")
        for position, (row, ids) in enumerate(zip(rows, selected, strict=True)):
            input_ids[position, : len(ids)] = ids
            token_type_ids[position, : len(ids)] = self.encoded.token_type_ids[row]
            attention_mask[position, : len(ids)] = 1
        index = np.asarray(rows, dtype="int64")
        batch = {
            "input_ids": torch.from_numpy(input_ids),
            "token_type_ids": torch.from_numpy(token_type_ids),
            "attention_mask": torch.from_numpy(attention_mask),
            "numeric": torch.from_numpy(np.ascontiguousarray(self.numeric[index])),
        }
        if self.target is not None:
            batch["target"] = torch.from_numpy(np.ascontiguousarray(self.target[index]))
        return batch


def length_bucketed_batches(
    lengths: np.ndarray, batch_size: int, generator: torch.Generator, bucket: bool = True
) -> list[list[int]]:
    """Row indices in batches, shuffled by ``generator``; with ``bucket``, each batch holds pairs
    of similar length (sorted within shuffled chunks), and the batches come in shuffled order."""
    order = torch.randperm(len(lengths), generator=generator).numpy()
    if not bucket:
        return [order[start : start + batch_size].tolist() for start in range(0, len(order), batch_size)]
    chunk = batch_size * BUCKET_BATCHES
    batches = []
    for start in range(0, len(order), chunk):
        rows = order[start : start + chunk]
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        batches += [rows[at : at + batch_size].tolist() for at in range(0, len(rows), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def batches_by_length(lengths: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Prediction's batches: rows sorted by length, so each batch pads little; no randomness."""
    order = np.argsort(lengths, kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
