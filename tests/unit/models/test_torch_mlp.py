from __future__ import annotations

import numpy as np
import torch

from pipelines.config.params import TorchMLPParams
from pipelines.models.torch_mlp import fit, latest_checkpoint

RNG = np.random.default_rng(0)
NUMERIC = RNG.normal(size=(300, 4)).astype("float32")
CATEGORIES = RNG.integers(0, 5, size=(300, 2)).astype("int64")
TARGET = (NUMERIC @ np.array([1.0, -2.0, 0.5, 0.0]) + CATEGORIES[:, 0] * 0.3).astype("float32")


def train(epochs: int, folder, seed: int = 7):
    params = TorchMLPParams(
        hidden_sizes=[16], embedding_dim=3, epochs=epochs, batch_size=32, learning_rate=0.01
    )
    return fit(NUMERIC, CATEGORIES, TARGET, [5, 5], params, seed, folder, device=torch.device("cpu"))


def weights(model) -> list[np.ndarray]:
    return [tensor.detach().numpy().copy() for tensor in model.state_dict().values()]


def test_training_learns_and_checkpoints_every_epoch(tmp_path):
    _, state = train(6, tmp_path)
    assert state.history[-1]["loss"] < state.history[0]["loss"] / 2
    assert latest_checkpoint(tmp_path).name == "epoch-0006.pt"
    assert len(list(tmp_path.glob("epoch-*.pt"))) == 2  # older ones are pruned
    assert state.resumed_from is None


def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    straight, _ = train(6, tmp_path / "straight")
    train(3, tmp_path / "interrupted")  # the first three epochs, then the task dies
    resumed, state = train(6, tmp_path / "interrupted")
    assert state.resumed_from == 3
    assert [h["epoch"] for h in state.history] == [1, 2, 3, 4, 5, 6]
    for ours, theirs in zip(weights(resumed), weights(straight), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_same_seed_same_model_other_seed_other_model(tmp_path):
    first, _ = train(2, tmp_path / "a")
    again, _ = train(2, tmp_path / "b")
    other, _ = train(2, tmp_path / "c", seed=8)
    np.testing.assert_array_equal(weights(first)[0], weights(again)[0])
    assert not np.array_equal(weights(first)[0], weights(other)[0])
