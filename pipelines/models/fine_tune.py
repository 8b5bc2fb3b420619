"""The fine-tuning loop for a network that scores a batch dict against its ``target``.

Like ``torch_mlp.fit``: seeded, checkpointed every epoch (network, optimizer, schedule,
history), resumed from the newest checkpoint. The batches and the dropout masks of epoch ``e``
depend only on ``(seed, e)``, so a resumed run ends with the weights of an uninterrupted one.
AdamW with linear warmup and decay; batches of similar length, collated by a DataLoader; on
CUDA, bf16 autocast and pinned, non-blocking copies.
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from pipelines.models.text_pairs import length_bucketed_batches
from pipelines.models.torch_mlp import TrainingState, _save_checkpoint, latest_checkpoint

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from torch.optim.lr_scheduler import LambdaLR

    from pipelines.config.params import CrossEncoderParams
    from pipelines.models.text_pairs import PairBatches

log = logging.getLogger("conveyor.train")

MAX_GRAD_NORM = 1.0  # the usual clip for fine-tuning transformers: one bad batch cannot wreck them


def fine_tune(
    network: nn.Module,
    batches: PairBatches,
    params: CrossEncoderParams,
    seed: int,
    checkpoints: Path,
    device: torch.device,
    on_epoch: Callable[[int], None] | None = None,
) -> TrainingState:
    """Train ``network`` (already on ``device``) on every row of ``batches`` for ``params.epochs``,
    resuming from the newest checkpoint in ``checkpoints``; writes one checkpoint an epoch, then
    calls ``on_epoch(epoch)``."""
    lengths = batches.encoded.lengths()
    optimizer, schedule = _optimizer(network, params, math.ceil(len(lengths) / params.batch_size))
    state = _resume(checkpoints, network, optimizer, schedule, device, params.epochs)
    for epoch in range(state.epochs_done, params.epochs):
        started = time.perf_counter()
        torch.manual_seed(seed * 100_003 + epoch)  # dropout and workers' seeds: a function of (seed, epoch)
        order = torch.Generator().manual_seed(seed * 100_003 + epoch)
        loader: DataLoader[int] = DataLoader(
            range(len(lengths)),  # type: ignore[arg-type]  # a range is a map-style dataset of indices
            batch_sampler=length_bucketed_batches(lengths, params.batch_size, order, params.bucket_by_length),
            collate_fn=batches,
            num_workers=params.dataloader_workers,
            pin_memory=device.type == "cuda",
        )
        epoch_loss = _run_epoch(network, loader, optimizer, schedule, device, params.bf16)
        seconds = time.perf_counter() - started
        samples, tokens = len(lengths) / seconds, float(lengths.sum()) / seconds  # tokens: no padding
        entry = {"epoch": epoch + 1, "loss": epoch_loss, "samples_per_second": samples}
        state.history.append({**entry, "tokens_per_second": tokens})
        state.epochs_done = epoch + 1
        log.info(
            "epoch %d/%d loss %.4f %.0f samples/s %.0f tokens/s",
            epoch + 1,
            params.epochs,
            epoch_loss,
            samples,
            tokens,
        )
        _save_checkpoint(
            checkpoints,
            epoch + 1,
            {
                "model": network.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": schedule.state_dict(),
                "epochs_done": epoch + 1,
                "history": state.history,
            },
        )
        if on_epoch is not None:
            on_epoch(epoch + 1)
    return state


def _optimizer(
    network: nn.Module, params: CrossEncoderParams, steps_per_epoch: int
) -> tuple[torch.optim.Optimizer, LambdaLR]:
    from transformers import get_linear_schedule_with_warmup

    # No weight decay on biases and LayerNorm scales, as in BERT's recipe.
    decayed = [p for p in network.parameters() if p.ndim >= 2]
    plain = [p for p in network.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": params.weight_decay}, {"params": plain, "weight_decay": 0.0}],
        lr=params.learning_rate,
    )
    steps = steps_per_epoch * params.epochs
    return optimizer, get_linear_schedule_with_warmup(
        optimizer, math.ceil(params.warmup_ratio * steps), steps
    )


def _resume(
    checkpoints: Path,
    network: nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: LambdaLR,
    device: torch.device,
    epochs: int,
) -> TrainingState:
    checkpoint = latest_checkpoint(checkpoints)
    if checkpoint is None:
        return TrainingState()
    saved = torch.load(checkpoint, map_location=device, weights_only=True)
    network.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    schedule.load_state_dict(saved["scheduler"])
    log.info("resuming from %s: %d of %d epochs done", checkpoint.name, saved["epochs_done"], epochs)
    return TrainingState(saved["epochs_done"], list(saved["history"]), saved["epochs_done"])


def _run_epoch(
    network: nn.Module,
    loader: DataLoader[Any],
    optimizer: torch.optim.Optimizer,
    schedule: LambdaLR,
    device: torch.device,
    bf16: bool,
) -> float:
    """One pass over ``loader``; returns the mean batch loss."""
    cuda = device.type == "cuda"

    # bf16 autocast on GPUs; on a CPU, no context at all (entering a disabled one costs per step).
    def precision() -> AbstractContextManager[object]:
        return torch.autocast("cuda", dtype=torch.bfloat16) if cuda and bf16 else nullcontext()

    network.train()
    loss_sum, steps = torch.zeros((), device=device), 0  # summed on the device: no sync per step
    for host_batch in loader:
        batch = {name: tensor.to(device, non_blocking=cuda) for name, tensor in host_batch.items()}
        with precision():
            prediction = network(batch)
        loss = nn.functional.mse_loss(prediction.float(), batch["target"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(network.parameters(), MAX_GRAD_NORM)
        optimizer.step()
        schedule.step()
        loss_sum += loss.detach()
        steps += 1
    return float(loss_sum) / steps
