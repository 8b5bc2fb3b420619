"""The ``torch_mlp`` model type: embedded categoricals + numeric features -> MLP -> one value.

Training is seeded end to end and checkpointed every epoch (model, optimizer, epoch,
history): the shuffling of epoch ``e`` depends only on ``(seed, e)``, so a run resumed from
a checkpoint finishes with exactly the weights an uninterrupted run would have.
Uses CUDA when present (bf16 autocast, pinned host memory), else the CPU.
"""

from __future__ import annotations

import logging
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from pipelines.config.params import TorchMLPParams

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("conveyor.train")


class TabularMLP(nn.Module):
    def __init__(self, numeric: int, cardinalities: list[int], params: TorchMLPParams) -> None:
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n, params.embedding_dim) for n in cardinalities)
        width = numeric + params.embedding_dim * len(cardinalities)
        layers: list[nn.Module] = []
        for hidden in params.hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, numeric: torch.Tensor, categories: torch.Tensor) -> torch.Tensor:
        embedded = [embedding(categories[:, i]) for i, embedding in enumerate(self.embeddings)]
        return self.mlp(torch.cat([numeric, *embedded], dim=1)).squeeze(1)


@dataclass
class TrainingState:
    epochs_done: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int | None = None


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def to_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if device.type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor


def _checkpoint_path(folder: Path, epoch: int) -> Path:
    return folder / f"epoch-{epoch:04d}.pt"


def latest_checkpoint(folder: Path) -> Path | None:
    found = sorted(folder.glob("epoch-*.pt"))
    return found[-1] if found else None


def _save_checkpoint(folder: Path, epoch: int, payload: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".epoch-{epoch:04d}.pt.tmp"
    torch.save(payload, temporary)
    temporary.replace(_checkpoint_path(folder, epoch))  # atomic: a kill never leaves half a file
    for old in sorted(folder.glob("epoch-*.pt"))[:-2]:
        old.unlink()


def fit(
    numeric: np.ndarray,
    categories: np.ndarray,
    target: np.ndarray,
    cardinalities: list[int],
    params: TorchMLPParams,
    seed: int,
    checkpoints: Path,
    device: torch.device | None = None,
    on_epoch: Callable[[TabularMLP, int], None] | None = None,
) -> tuple[TabularMLP, TrainingState]:
    """Train on the given arrays, resuming from the newest checkpoint in ``checkpoints``;
    ``on_epoch(model, epoch)`` after each epoch (tuning scores it there, and may stop it)."""
    device = device or pick_device()
    seed_everything(seed)
    model = TabularMLP(numeric.shape[1], cardinalities, params).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay
    )
    state = TrainingState()
    checkpoint = latest_checkpoint(checkpoints)
    if checkpoint is not None:
        saved = torch.load(checkpoint, map_location=device, weights_only=True)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = TrainingState(saved["epochs_done"], list(saved["history"]), saved["epochs_done"])
        log.info(
            "resuming from %s: %d of %d epochs done",
            checkpoint.name,
            state.epochs_done,
            params.epochs,
        )

    x_numeric, x_categories = to_device(numeric, device), to_device(categories, device)
    y = to_device(target, device)
    rows = len(y)

    # bf16 autocast on GPUs; on a CPU, no context at all (entering a disabled one costs per step).
    def precision() -> AbstractContextManager[object]:
        return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()

    for epoch in range(state.epochs_done, params.epochs):
        started = time.perf_counter()
        order = torch.randperm(rows, generator=torch.Generator().manual_seed(seed * 100_003 + epoch))
        model.train()
        loss_sum = torch.zeros((), device=device)  # summed on the device: no sync per step
        batches = order.to(device).split(params.batch_size)
        for batch in batches:
            with precision():
                prediction = model(x_numeric[batch], x_categories[batch])
            loss = nn.functional.mse_loss(prediction.float(), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach()
        seconds = time.perf_counter() - started
        epoch_loss = float(loss_sum) / len(batches)  # mean batch loss
        state.history.append({"epoch": epoch + 1, "loss": epoch_loss, "samples_per_second": rows / seconds})
        state.epochs_done = epoch + 1
        log.info(
            "epoch %d/%d loss %.4f %.0f samples/s",
            epoch + 1,
            params.epochs,
            epoch_loss,
            rows / seconds,
        )
        _save_checkpoint(
            checkpoints,
            epoch + 1,
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "epochs_done": epoch + 1,
                "history": state.history,
            },
        )
        if on_epoch is not None:
            on_epoch(model, epoch + 1)
    return model, state


@torch.no_grad()
def predict(
    model: TabularMLP, numeric: np.ndarray, categories: np.ndarray, batch_size: int = 8192
) -> np.ndarray:
    device = next(model.parameters()).device
    model.eval()
    outputs = []
    for start in range(0, len(numeric), batch_size):
        stop = start + batch_size
        outputs.append(
            model(to_device(numeric[start:stop], device), to_device(categories[start:stop], device))
            .float()
            .cpu()
            .numpy()
        )
    return np.concatenate(outputs) if outputs else np.zeros(0, dtype="float32")
