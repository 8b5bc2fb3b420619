from __future__ import annotations

import numpy as np
import torch

from pipelines.models.text_pairs import EncodedPairs, PairBatches, length_bucketed_batches, text_values

LENGTHS = np.random.default_rng(0).integers(3, 40, size=500)


def batches(seed: int, bucket: bool = True) -> list[list[int]]:
    return length_bucketed_batches(LENGTHS, 16, torch.Generator().manual_seed(seed), bucket)


def padding(batched: list[list[int]]) -> int:
    return sum(int(LENGTHS[rows].max()) * len(rows) - int(LENGTHS[rows].sum()) for rows in batched)


def test_every_row_comes_once_in_an_order_fixed_by_the_seed():
    for bucket in (True, False):
        assert sorted(row for rows in batches(1, bucket) for row in rows) == list(range(len(LENGTHS)))
    assert batches(1) == batches(1)
    assert batches(1) != batches(2)


def test_bucketing_by_length_cuts_padding():
    assert padding(batches(1)) < padding(batches(1, bucket=False)) / 3


def test_a_batch_is_padded_to_its_longest_pair():
    encoded = EncodedPairs([[2, 7, 3, 8, 3], [2, 7, 3]], [[0, 0, 0, 1, 1], [0, 0, 0]])
    numeric = np.array([[0.5], [-1.0]], dtype="float32")
    batch = PairBatches(encoded, numeric, None, pad_token_id=0)([1, 0])
    assert batch["input_ids"].tolist() == [[2, 7, 3, 0, 0], [2, 7, 3, 8, 3]]
    assert batch["token_type_ids"].tolist() == [[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert batch["numeric"].tolist() == [[-1.0], [0.5]]
    assert "target" not in batch


def test_missing_text_is_empty():
    assert text_values(["a", None, float("nan"), 3]) == ["a", "", "", "3"]
