"""A training killed mid-run and started again resumes from its last checkpoint, and ends
with exactly the model an uninterrupted run makes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import torch

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.features.datasets import build_datasets
from pipelines.features.store import apply_features, feature_store
from pipelines.lakehouse.storage import Lakehouse
from pipelines.training.evaluate import evaluate_model
from pipelines.training.tracking import mlflow_client
from pipelines.training.train import train_model

AS_OF = date(2024, 4, 30)
EPOCHS = 150


def train_command(train_uri: str, test_uri: str) -> list[str]:
    return [
        sys.executable, "-m", "pipelines", "train", "-m", "freight_volume", "-d", AS_OF.isoformat(),
        "--train-dataset", train_uri, "--test-dataset", test_uri, "--param", f"epochs={EPOCHS}", "--json",
    ]  # fmt: skip


def wait_for_checkpoint(folder: Path, at_least: int, process: subprocess.Popen[str]) -> int:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        epochs = [int(p.stem.split("-")[1]) for p in folder.glob("*/epoch-*.pt")]
        if epochs and max(epochs) >= at_least:
            return max(epochs)
        assert process.poll() is None, "training ended before it could be killed"
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


def test_a_killed_training_resumes_where_it_stopped(model_home, tmp_path):
    platform = load_platform_config()
    config = load_model_config("freight_volume")
    lakehouse = Lakehouse(platform.lakehouse_uri)
    store = feature_store(platform)
    apply_features(store, config, lakehouse)
    train_ref, test_ref = build_datasets(lakehouse, store, config, AS_OF)
    checkpoints = Path(platform.checkpoints_uri) / "freight_volume"
    # One torch thread everywhere: the sum of a batch's gradients depends on how many threads
    # share it, and the straight run below is in this process, whose thread count an earlier
    # test may have changed (the serving app sets one thread).
    env = {**os.environ, "CONVEYOR_HOME": str(model_home), "OMP_NUM_THREADS": "1"}

    first = subprocess.Popen(
        train_command(train_ref.uri, test_ref.uri), env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    killed_after = wait_for_checkpoint(checkpoints, 5, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert killed_after < EPOCHS

    second = subprocess.run(
        train_command(train_ref.uri, test_ref.uri), env=env, text=True, capture_output=True
    )
    assert second.returncode == 0, second.stderr
    resumed = int(second.stderr.split("resuming from epoch-")[1][:4])
    assert resumed >= killed_after
    assert f"epoch 1/{EPOCHS} " not in second.stderr, "the retried run started over"
    assert f"epoch {resumed + 1}/{EPOCHS} " in second.stderr
    run_id = second.stdout.strip().splitlines()[-1].split('"')[-2]
    client = mlflow_client(platform)
    assert client.get_run(run_id).data.params["resumed_from_epoch"] == str(resumed)

    # The same training without interruption, from scratch, gives the same model.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        uninterrupted = train_model(
            platform, config, client, lakehouse, train_uri=train_ref.uri, test_uri=test_ref.uri, as_of=AS_OF,
            trigger_reason="manual", overrides={"epochs": EPOCHS}, checkpoints=tmp_path / "fresh",
        )  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    resumed_metrics = evaluate_model(platform, config, client, lakehouse, run_id).evaluation.overall
    straight_metrics = evaluate_model(platform, config, client, lakehouse, uninterrupted).evaluation.overall
    assert resumed_metrics == straight_metrics
