"""Throughput of the text train step (``fit_cross_encoder``) against a bare transformers/torch loop.

    python benchmarks/train_text.py [--days 20] [--epochs N] [--batch-size N] [--repeats 5]
                                    [--threads 1] [--device cpu|cuda] [--encoder tiny|base]

The training set is search_relevance's: a few weeks of the repo's own search logs, their gold
features computed as of each day by ``pipelines.lakehouse.gold`` and joined with the next day's labels
(what ``build_datasets`` does, in memory). The base weights are written to a temporary folder as
``conveyor weights init`` writes them (``--encoder base``: a BERT-base-shaped ELECTRA instead,
for a GPU). Both contenders read the same rows and weights folder, on the same device, with the
same torch threads (one by default: with more threads than idle cores, a shared machine's noise
swamps the ratio; ``--threads 0`` keeps torch's default):

- conveyor: ``fit_cross_encoder`` with the config's params (``--epochs``, ``--batch-size``
  overridden), a fresh checkpoint folder each run, so it never resumes and writes one
  checkpoint an epoch as in production;
- bare: a plain loop, no DataLoader, checkpoints, logging or loss bookkeeping, torch's default
  (non-deterministic) algorithm settings: ``AutoTokenizer``/``AutoModel.from_pretrained`` from
  the same folder, ``CrossEncoderNet``'s head, the pairs tokenized once and padded once to
  ``max_length`` on the device, each batch sliced from them to its longest pair (the same
  dynamic padding), the same length-bucketed batch order, AdamW groups, warmup/decay schedule,
  gradient clip and (on CUDA) bf16 autocast, and the same per-epoch seeding, so that dropout
  draws the same masks.

Each side's wall time covers everything ``fit_cross_encoder`` does: loading the weights,
tokenizing, scaling, building the network, training, and handing the weights back on the host.
One warm-up epoch per side first; then best of ``repeats``, alternating which side goes first.
Reported: samples/s, tokens/s (real tokens, not padding) and the ratio conveyor / bare (goal:
>= 0.95); the model FLOPs of the work, and on CUDA the model FLOPs utilisation against the
card's dense bf16 peak. On a CPU both sides end with the same weights, which is checked.
Results go to ``benchmarks/results/train_text.json``.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from contextlib import nullcontext
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from measure import (
    Figure,
    Repeats,
    Run,
    Stopwatch,
    against_goal,
    cuda_sync,
    max_weight_difference,
    meets,
    print_ratios,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch

    from pipelines.config.params import CrossEncoderParams
    from pipelines.models.cross_encoder import CrossEncoderNet

MODEL = "search_relevance"
START = date(2024, 1, 1)
GOAL = 0.95
ADVICE = " (best of more --repeats helps; more --threads than idle cores can slow both sides a lot)"
BUCKET_BATCHES = 50  # text_pairs' chunk of batches sorted by length, restated for the plain loop
MAX_GRAD_NORM = 1.0
BASE_SIZE: dict[str, Any] = {"embedding_size": 768, "hidden_size": 768, "num_hidden_layers": 12,
                             "num_attention_heads": 12, "intermediate_size": 3072,
                             "max_position_embeddings": 512}  # fmt: skip
# Dense bf16 tensor peaks, FLOP/s, by a name torch reports; the first match wins.
PEAK_BF16 = [("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("GH200", 989e12),
             ("A100", 312e12), ("L40S", 362e12), ("L40", 181e12), ("L4", 121e12)]  # fmt: skip
DIFFERENCES = [
    "conveyor writes a checkpoint (network, optimizer, schedule, history) each epoch and keeps two",
    "conveyor collates each batch from token lists in a DataLoader (pinned memory on CUDA) and copies it"
    " to the device; bare slices batches from tensors padded once and already on the device",
    "conveyor sums the loss on the device, logs, and times each epoch; bare does none of these",
    "conveyor runs with deterministic algorithms on (warn only); bare with torch's default",
]


def make_training_set(days: int) -> pd.DataFrame:
    """Gold features as of each day joined with the next day's labels, as datasets build them."""
    import pandas as pd

    from pipelines.config.load import load_model_config
    from pipelines.lakehouse.gold import compute_features
    from pipelines.samples.search import SearchScenario, generate_logs

    config = load_model_config(MODEL)
    logs = generate_logs(SearchScenario(start=START, days=days))
    history = logs.assign(logical_date=logs["reported_on"])
    keys, frames = config.entity_keys, []
    for day in range(1, days - 1):
        as_of = START + timedelta(days=day)
        target_day = pd.Timestamp(as_of + timedelta(days=config.features.horizon_days))
        labels = logs.loc[logs["date"] == target_day, [*keys, config.target]]
        frames.append(compute_features(history, as_of, config).merge(labels, on=keys))
    return pd.concat(frames, ignore_index=True)


def write_base_weights(folder: Path, encoder: str, seed: int) -> Path:
    from pipelines.models.base_weights import build_tokenizer, init_base_weights
    from pipelines.samples.search_words import vocabulary

    if encoder == "tiny":
        return init_base_weights(folder, vocabulary(), seed)  # what `conveyor weights init` writes
    import torch
    from transformers import ElectraConfig, ElectraModel

    tokenizer = build_tokenizer(vocabulary())
    config = ElectraConfig(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **BASE_SIZE)
    torch.manual_seed(seed)
    ElectraModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def run_conveyor(
    frame: pd.DataFrame, params: CrossEncoderParams, seed: int, folder: Path, device: torch.device
) -> tuple[float, tuple[CrossEncoderNet, list[dict[str, float]]]]:
    from pipelines.config.load import load_model_config
    from pipelines.models.cross_encoder import fit_cross_encoder

    config = load_model_config(MODEL)
    features = config.features
    with tempfile.TemporaryDirectory() as checkpoints, Stopwatch(cuda_sync(device)) as watch:
        trained = fit_cross_encoder(
            frame,
            features.text,
            features.numeric,
            config.target,
            params,
            seed,
            Path(checkpoints),
            folder,
            device,
        )
    return watch.seconds, (trained.network, trained.history)


def bucketed_batches(lengths: np.ndarray, batch_size: int, generator: torch.Generator) -> list[np.ndarray]:
    """Shuffle, sort by length within chunks of batches, cut, shuffle the batches."""
    import numpy as np
    import torch

    order = torch.randperm(len(lengths), generator=generator).numpy()
    batches: list[np.ndarray] = []
    for start in range(0, len(order), batch_size * BUCKET_BATCHES):
        rows = order[start : start + batch_size * BUCKET_BATCHES]
        rows = rows[np.argsort(lengths[rows], kind="stable")]
        batches += [rows[at : at + batch_size] for at in range(0, len(rows), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


def run_bare(
    frame: pd.DataFrame,
    params: CrossEncoderParams,
    seed: int,
    folder: Path,
    device: torch.device,
    deterministic: bool,
) -> tuple[float, CrossEncoderNet]:
    """The baseline: the same computation as ``fit_cross_encoder``, as a plain loop."""
    import torch
    from torch import nn
    from transformers import AutoModel, AutoTokenizer, get_linear_schedule_with_warmup

    from pipelines.config.load import load_model_config
    from pipelines.models.cross_encoder import CrossEncoderNet

    config = load_model_config(MODEL)
    (query, document), numeric = config.features.text, config.features.numeric
    torch.use_deterministic_algorithms(deterministic)  # undo what an earlier fit switched on
    with Stopwatch(cuda_sync(device)) as watch:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        encoder = AutoModel.from_pretrained(folder, local_files_only=True).float()
        encoded = tokenizer(
            frame[query].tolist(),
            frame[document].tolist(),
            truncation="longest_first",
            max_length=params.max_length,
            padding="max_length",
            return_tensors="pt",
        )
        lengths = encoded["attention_mask"].sum(dim=1).numpy()
        tensors = {
            name: encoded[name].to(device) for name in ("input_ids", "token_type_ids", "attention_mask")
        }
        x = frame[numeric].astype("float64")
        tensors["numeric"] = torch.from_numpy(((x - x.mean()) / x.std(ddof=0)).to_numpy("float32")).to(device)
        y = frame[config.target].astype("float64")
        target = torch.from_numpy(((y - y.mean()) / y.std(ddof=0)).to_numpy("float32")).to(device)

        torch.manual_seed(seed)
        model = CrossEncoderNet(encoder, len(numeric)).to(device)
        matrices = [p for p in model.parameters() if p.ndim >= 2]
        vectors = [p for p in model.parameters() if p.ndim < 2]
        optimizer = torch.optim.AdamW(
            [
                {"params": matrices, "weight_decay": params.weight_decay},
                {"params": vectors, "weight_decay": 0.0},
            ],
            lr=params.learning_rate,
        )
        steps = math.ceil(len(frame) / params.batch_size) * params.epochs
        schedule = get_linear_schedule_with_warmup(optimizer, math.ceil(params.warmup_ratio * steps), steps)
        bf16 = device.type == "cuda" and params.bf16
        model.train()
        for epoch in range(params.epochs):
            torch.manual_seed(seed * 100_003 + epoch)
            # The draw a DataLoader makes: the same dropout masks.
            torch.empty((), dtype=torch.int64).random_()
            shuffle = torch.Generator().manual_seed(seed * 100_003 + epoch)
            for rows in bucketed_batches(lengths, params.batch_size, shuffle):
                width = int(lengths[rows].max())
                index = torch.from_numpy(rows).to(device)
                batch = {name: tensor[index, :width] for name, tensor in tensors.items() if name != "numeric"}
                batch["numeric"] = tensors["numeric"][index]
                with torch.autocast("cuda", dtype=torch.bfloat16) if bf16 else nullcontext():
                    prediction = model(batch)
                loss = nn.functional.mse_loss(prediction.float(), target[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
                optimizer.step()
                schedule.step()
        model = model.cpu()  # fit hands its weights back on the host too
    return watch.seconds, model


def training_flops(network: CrossEncoderNet, lengths: np.ndarray) -> float:
    """Model FLOPs of one epoch, forward and backward, over real tokens (padding is not work):
    6 a token per encoder parameter outside the embedding lookups, 12 x layers x width x length
    a token for attention scores and mixing (PaLM's count), 6 a pair per head parameter."""
    encoder, tokens = network.encoder, lengths.astype("float64")
    dense = sum(p.numel() for name, p in encoder.named_parameters() if not name.startswith("embeddings."))
    head = sum(p.numel() for p in network.head.parameters())
    attention = 12 * encoder.config.num_hidden_layers * encoder.config.hidden_size * float((tokens**2).sum())
    return 6 * dense * float(tokens.sum()) + attention + 6 * head * len(tokens)


def peak_bf16_flops(device_name: str) -> float | None:
    return next((peak for name, peak in PEAK_BF16 if name in device_name), None)


def describe(params: CrossEncoderParams, folder: Path, frame: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Real lengths of the pairs, and the padded tokens of one epoch's batches."""
    import numpy as np
    import torch
    from transformers import AutoTokenizer

    from pipelines.config.load import load_model_config

    query, document = load_model_config(MODEL).features.text
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    encoded = tokenizer(frame[query].tolist(), frame[document].tolist(), truncation="longest_first",
                        max_length=params.max_length, return_attention_mask=False)  # fmt: skip
    lengths = np.array([len(ids) for ids in encoded["input_ids"]])
    batches = bucketed_batches(lengths, params.batch_size, torch.Generator().manual_seed(0))
    return lengths, sum(len(rows) * int(lengths[rows].max()) for rows in batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days", type=int, default=20, help="days of search logs (two go to history and labels)"
    )
    parser.add_argument("--epochs", type=int, help="default: the search_relevance config's")
    parser.add_argument("--batch-size", type=int, help="default: the search_relevance config's")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for both sides; 0: torch's default (cores)"
    )
    parser.add_argument("--device", help="cpu or cuda (default: what fit would pick)")
    parser.add_argument(
        "--encoder", choices=["tiny", "base"], default="tiny",
        help="tiny: what `conveyor weights init` writes; base: BERT-base-shaped, for a GPU",
    )  # fmt: skip
    args = parser.parse_args()

    import torch
    from transformers.utils import logging as hf_logging

    from pipelines.config.load import load_model_config
    from pipelines.config.params import CrossEncoderParams
    from pipelines.models import resolve_params
    from pipelines.models.torch_mlp import pick_device

    if args.threads:
        torch.set_num_threads(args.threads)
    hf_logging.disable_progress_bar()
    run = Run("train_text", versions=("torch", "transformers"), code=True)
    device = torch.device(args.device) if args.device else pick_device()
    config = load_model_config(MODEL)
    seed = config.model.seed
    deterministic_default = torch.are_deterministic_algorithms_enabled()
    overrides = {
        key: value for key, value in (("epochs", args.epochs), ("batch_size", args.batch_size)) if value
    }

    with tempfile.TemporaryDirectory() as home:
        folder = write_base_weights(Path(home) / f"electra-{args.encoder}", args.encoder, seed)
        params = resolve_params(config, {**overrides, "base_weights": str(folder)})
        assert isinstance(params, CrossEncoderParams)
        assert params.bucket_by_length, "the bare loop batches by length, as the config does"
        frame = make_training_set(args.days)
        lengths, padded = describe(params, folder, frame)
        print(
            f"{len(frame)} pairs, {int(lengths.sum())} tokens ({lengths.mean():.1f} a pair, padding adds"
            f" {padded / lengths.sum() - 1:.1%}), built in {run.clock.elapsed():.1f}s;"
            f" {args.encoder} encoder, device {device}, {torch.get_num_threads()} torch threads"
        )
        repeats = Repeats(
            {
                "conveyor": lambda p: run_conveyor(frame, p, seed, folder, device),
                "bare": lambda p: run_bare(frame, p, seed, folder, device, deterministic_default),
            },
            args.repeats,
        )
        repeats.warm_up(params.model_copy(update={"epochs": 1}))
        fastest = repeats.run(params)
    torch.use_deterministic_algorithms(deterministic_default)

    (network, history), bare = fastest["conveyor"], fastest["bare"]
    samples, tokens = len(frame) * params.epochs, int(lengths.sum()) * params.epochs
    flops = training_flops(bare, lengths) * params.epochs
    best = {side: repeats.best(side) for side in fastest}
    ratio = best["bare"] / best["conveyor"]
    difference = max_weight_difference(network, bare)
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peak = peak_bf16_flops(device_name) if device.type == "cuda" else None
    encoder = bare.encoder.config
    result = {
        "device": device_name,
        "torch_threads": torch.get_num_threads(),
        "encoder": {
            "size": args.encoder,
            "layers": encoder.num_hidden_layers,
            "hidden": encoder.hidden_size,
            "parameters": sum(p.numel() for p in bare.parameters()),
        },
        "pairs": len(frame),
        "tokens_per_epoch": int(lengths.sum()),
        "padded_tokens_per_epoch": padded,
        "epochs": params.epochs,
        "batch_size": params.batch_size,
        "max_length": params.max_length,
        "repeats": args.repeats,
        "samples": samples,
        "tokens": tokens,
        "conveyor_seconds": repeats.all("conveyor"),
        "bare_seconds": repeats.all("bare"),
        "conveyor_samples_per_second": round(samples / best["conveyor"]),
        "bare_samples_per_second": round(samples / best["bare"]),
        "conveyor_tokens_per_second": round(tokens / best["conveyor"]),
        "bare_tokens_per_second": round(tokens / best["bare"]),
        "conveyor_logged_tokens_per_second": [round(epoch["tokens_per_second"]) for epoch in history],
        "ratio_conveyor_to_bare": round(ratio, 3),
        "goal": GOAL,
        "meets_goal": meets(ratio, GOAL),
        "max_weight_difference": difference,
        "model_flops": flops,
        "conveyor_flops_per_second": flops / best["conveyor"],
        "bare_flops_per_second": flops / best["bare"],
        "peak_bf16_flops_per_second": peak,
        "conveyor_mfu": flops / best["conveyor"] / peak if peak else None,
        "bare_mfu": flops / best["bare"] / peak if peak else None,
        "differences": DIFFERENCES,
    }

    print_ratios(
        [
            Figure("best seconds", best["conveyor"], best["bare"]),
            Figure("samples/s", samples / best["conveyor"], samples / best["bare"]),
            Figure("tokens/s", tokens / best["conveyor"], tokens / best["bare"]),
            Figure("GFLOP/s", flops / best["conveyor"] / 1e9, flops / best["bare"] / 1e9),
        ],
        "conveyor",
        "bare",
    )
    print(f"\nratio conveyor/bare {ratio:.3f} {against_goal(ratio, GOAL)}")
    unequal = " (bf16 and non-deterministic kernels: not expected to be 0)" if device.type == "cuda" else ""
    print(f"max weight difference between the two sides: {difference:.3g}{unequal}")
    print(f"model FLOPs: {flops / 1e9:.1f} GFLOP ({flops / tokens:.0f} a token)")
    if device.type != "cuda":
        print("MFU: CUDA only")
    elif peak is None:
        print(f"MFU: unknown device {device_name!r}, no peak bf16 FLOP/s on record")
    else:
        print(f"MFU (dense bf16 peak {peak / 1e12:.0f} TFLOP/s): conveyor {result['conveyor_mfu']:.2%},"
              f" bare {result['bare_mfu']:.2%}")  # fmt: skip
    run.warn_if_busy(ADVICE)
    run.write(result)


if __name__ == "__main__":
    main()
