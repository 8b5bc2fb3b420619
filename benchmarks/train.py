"""Throughput of the train step (``torch_mlp.fit``) against a bare torch loop, same tensors, same run.

    python benchmarks/train.py [--routes 400] [--days 250] [--epochs 5] [--batch-size N]
                               [--repeats 3] [--threads 1] [--device cpu|cuda]

The training frame has the freight config's real feature columns (lags, rolling means,
calendar columns, the categorical keys), derived here with simple pandas from actuals made
by the repo's own generator; the Preprocessor turns it into numpy arrays once and both
contenders train on exactly those arrays, on the same device, with the same torch threads
(one by default: this small MLP gains nothing from more on a CPU, and with more threads than
idle cores a busy machine slows a run down by up to 10x, which swamps the ratio; ``--threads 0``
keeps torch's default):

- conveyor: ``pipelines.models.torch_mlp.fit`` with the config's params (``--epochs`` and
  ``--batch-size`` overridden), a fresh checkpoint folder every time so it never resumes;
- bare: the same seed, TabularMLP, AdamW, per-epoch permutation, batches, MSE loss (and bf16
  autocast on CUDA), written as a plain loop: no checkpoints, no logging, no loss bookkeeping,
  torch's default (non-deterministic) algorithm settings.

Each side trains one warm-up epoch first; then best of ``repeats`` runs, alternating which side
goes first. Reported: samples/s (rows x epochs / wall seconds, model construction and host ->
device copies included for both) and the ratio conveyor / bare (goal: >= 0.95). Both sides end
with the same weights on CPU, which is checked and reported as a sanity check that they did the
same work. Results go to ``benchmarks/results/train.json``.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

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

    from pipelines.config.params import TorchMLPParams
    from pipelines.models.torch_mlp import TabularMLP

START = date(2023, 1, 1)
GOAL = 0.95
ADVICE = " (best of more --repeats helps; more --threads than idle cores can slow both sides a lot)"


@dataclass(frozen=True)
class Arrays:
    numeric: np.ndarray
    categories: np.ndarray
    target: np.ndarray
    cardinalities: list[int]

    @property
    def rows(self) -> int:
        return len(self.target)


def make_frame(routes: int, days: int) -> pd.DataFrame:
    """Actuals from the generator plus the freight config's feature columns, derived simply."""
    from pipelines.config.load import load_model_config
    from pipelines.samples.freight import FreightScenario, generate_actuals

    features = load_model_config("freight_volume").features
    scenario = FreightScenario(start=START, days=days, routes=routes, stations_per_region=25)
    frame = generate_actuals(scenario).drop(columns="reported_on")
    frame = frame.sort_values(["origin", "destination", "date"], ignore_index=True)
    volume = frame["volume"].astype("float64")
    by_route = volume.groupby([frame["origin"], frame["destination"]], sort=False)
    for lag in features.lags_days:
        frame[f"volume_lag_{lag}d"] = by_route.shift(lag)
    # Rolling means as of the forecast day, ``horizon_days`` before the target day.
    as_of = by_route.shift(features.horizon_days)
    by_route_as_of = as_of.groupby([frame["origin"], frame["destination"]], sort=False)
    for window in features.rolling_mean_days:
        frame[f"volume_mean_{window}d"] = by_route_as_of.transform(
            lambda s, w=window: s.rolling(w, min_periods=1).mean()
        )
    frame["day_of_week"] = frame["date"].dt.weekday
    frame["day_of_year"] = frame["date"].dt.dayofyear
    frame["is_holiday"] = 0
    lags = [f"volume_lag_{lag}d" for lag in features.lags_days]
    return frame.dropna(subset=lags).reset_index(drop=True)


def make_arrays(frame: pd.DataFrame) -> Arrays:
    from pipelines.config.load import load_model_config
    from pipelines.models.preprocessing import Preprocessor

    config = load_model_config("freight_volume")
    features = config.features
    pre = Preprocessor.fit(frame, features.numeric, features.categorical, config.target)
    return Arrays(
        pre.numeric_matrix(frame),
        pre.category_matrix(frame),
        pre.scale_target(frame[config.target]),
        pre.cardinalities(),
    )


def run_conveyor(
    arrays: Arrays, params: TorchMLPParams, seed: int, device: torch.device
) -> tuple[float, TabularMLP]:
    from pipelines.models.torch_mlp import fit

    with tempfile.TemporaryDirectory() as checkpoints, Stopwatch(cuda_sync(device)) as watch:
        model, _ = fit(
            arrays.numeric,
            arrays.categories,
            arrays.target,
            arrays.cardinalities,
            params,
            seed,
            Path(checkpoints),
            device=device,
        )
    return watch.seconds, model


def run_bare(
    arrays: Arrays, params: TorchMLPParams, seed: int, device: torch.device, deterministic: bool
) -> tuple[float, TabularMLP]:
    """The baseline: the same computation as ``fit``, as a plain loop."""
    import torch
    from torch import nn

    from pipelines.models.torch_mlp import TabularMLP

    torch.use_deterministic_algorithms(deterministic)  # undo what an earlier ``fit`` switched on
    with Stopwatch(cuda_sync(device)) as watch:
        torch.manual_seed(seed)
        model = TabularMLP(arrays.numeric.shape[1], arrays.cardinalities, params).to(device)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay
        )
        x_numeric = torch.from_numpy(arrays.numeric).to(device)
        x_categories = torch.from_numpy(arrays.categories).to(device)
        y = torch.from_numpy(arrays.target).to(device)
        use_bf16 = device.type == "cuda"
        model.train()
        for epoch in range(params.epochs):
            order = torch.randperm(
                arrays.rows, generator=torch.Generator().manual_seed(seed * 100_003 + epoch)
            )
            for batch in order.to(device).split(params.batch_size):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
                    prediction = model(x_numeric[batch], x_categories[batch])
                loss = nn.functional.mse_loss(prediction.float(), y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
    return watch.seconds, model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=400, help="routes in the synthetic network")
    parser.add_argument("--days", type=int, default=250, help="service days per route (28 go to lags)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, help="default: the freight config's")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads for both sides; 0: torch's default (cores)"
    )
    parser.add_argument("--device", help="cpu or cuda (default: what fit would pick)")
    args = parser.parse_args()

    import torch

    from pipelines.config.load import load_model_config
    from pipelines.models import resolve_params
    from pipelines.models.torch_mlp import pick_device

    if args.threads:
        torch.set_num_threads(args.threads)
    run = Run("train", versions=("torch",))
    device = torch.device(args.device) if args.device else pick_device()
    config = load_model_config("freight_volume")
    overrides: dict[str, int] = {"epochs": args.epochs}
    if args.batch_size:
        overrides["batch_size"] = args.batch_size
    params = resolve_params(config, overrides)
    seed = config.model.seed
    deterministic_default = torch.are_deterministic_algorithms_enabled()

    built = Stopwatch()
    arrays = make_arrays(make_frame(args.routes, args.days))
    print(
        f"{arrays.rows} rows x {arrays.numeric.shape[1]} numeric + {arrays.categories.shape[1]} categorical"
        f" (cardinalities {arrays.cardinalities}), built in {built.elapsed():.1f}s;"
        f" device {device}, {torch.get_num_threads()} torch threads"
    )

    repeats = Repeats(
        {
            "conveyor": lambda p: run_conveyor(arrays, p, seed, device),
            "bare": lambda p: run_bare(arrays, p, seed, device, deterministic_default),
        },
        args.repeats,
    )
    repeats.warm_up(params.model_copy(update={"epochs": 1}))
    models = repeats.run(params)
    torch.use_deterministic_algorithms(deterministic_default)

    samples = arrays.rows * params.epochs
    rate = {side: samples / repeats.best(side) for side in models}
    ratio = rate["conveyor"] / rate["bare"]
    difference = max_weight_difference(models["conveyor"], models["bare"])
    result = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch_threads": torch.get_num_threads(),
        "rows": arrays.rows,
        "epochs": params.epochs,
        "batch_size": params.batch_size,
        "repeats": args.repeats,
        "samples": samples,
        "conveyor_seconds": repeats.all("conveyor"),
        "bare_seconds": repeats.all("bare"),
        "conveyor_samples_per_second": round(rate["conveyor"]),
        "bare_samples_per_second": round(rate["bare"]),
        "ratio_conveyor_to_bare": round(ratio, 3),
        "goal": GOAL,
        "meets_goal": meets(ratio, GOAL),
        "max_weight_difference": difference,
    }

    print_ratios(
        [
            Figure("best seconds", repeats.best("conveyor"), repeats.best("bare")),
            Figure("samples/s", rate["conveyor"], rate["bare"]),
        ],
        "conveyor",
        "bare",
    )
    print(f"\nratio conveyor/bare {ratio:.3f} {against_goal(ratio, GOAL)}")
    print(f"max weight difference between the two sides: {difference:.3g}")
    run.warn_if_busy(ADVICE)
    run.write(result)


if __name__ == "__main__":
    main()
