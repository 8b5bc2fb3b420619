"""Train and evaluate steps: a model version's run in MLflow, with everything it came from.

``train`` fits the model on a training set and logs one MLflow run (params, per-epoch
loss, datasets with their digests, the config as used, the lineage tags, and the model as a
pyfunc with signature and input example). ``evaluate`` scores the run's test set, writes
the test predictions as a dataset and logs metrics overall and per slice. Steps hand each
other only the run id; the rest is on the run.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.features.datasets import DatasetRef, feature_columns, read_dataset
from pipelines.lakehouse.storage import PartitionKey, frame_hash
from pipelines.models import fit_model, resolve_params, run_key
from pipelines.training.lineage import TAG, as_tags, config_hash, config_snapshot, digest_of, git_state
from pipelines.training.tracking import experiment_id

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig
    from pipelines.lakehouse.storage import Lakehouse

log = logging.getLogger("conveyor.training")
CONFIG_ARTIFACT, LINEAGE_ARTIFACT = "config.yaml", "lineage.json"


def dataset_ref(kind: str, uri: str) -> tuple[DatasetRef, pd.DataFrame]:
    frame = read_dataset(uri)
    return DatasetRef(kind, uri, frame_hash(frame), len(frame)), frame


def validation_results(lakehouse: Lakehouse, config: ModelConfig, as_of: date) -> list[str]:
    """The validation result of every silver partition a dataset as of ``as_of`` reads."""
    source = config.source.name
    results = []
    for day in lakehouse.logical_dates("silver", source):
        if day <= as_of:
            manifest = lakehouse.manifest(PartitionKey("silver", source, day))
            if manifest is not None:
                results.append(manifest.inputs.get("validation", ""))
    return results


def with_overrides(config: ModelConfig, overrides: dict[str, Any] | None) -> ModelConfig:
    if not overrides:
        return config
    params = {**config.model.params, **overrides}
    resolve_params(config, overrides)  # raises on a parameter the model type does not take
    return config.model_copy(update={"model": config.model.model_copy(update={"params": params})})


def train_model(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    lakehouse: Lakehouse,
    *,
    train_uri: str,
    test_uri: str,
    as_of: date,
    trigger_reason: str,
    dag_run_id: str | None = None,
    overrides: dict[str, Any] | None = None,
    tuning: dict[str, Any] | None = None,
    checkpoints: Path | None = None,
) -> str:
    """Train on ``train_uri`` and log the run; returns the MLflow run id.

    ``tuning`` is ``finish_tuning``'s result: its parameters apply, and ``overrides`` over
    them. Checkpoints go to ``checkpoints`` (default: a folder keyed by config and data), so a
    killed and retried training resumes where it stopped.
    """
    import mlflow
    from mlflow.data.pandas_dataset import from_pandas

    source_hash = config_hash(config)  # the repository's config, before this run's overrides
    config = with_overrides(config, {**(tuning or {}).get("params", {}), **(overrides or {})})
    params = resolve_params(config)
    train_ref, train_frame = dataset_ref("train", train_uri)
    test_ref, test_frame = dataset_ref("test", test_uri)
    key = run_key(config, params, train_ref.digest)
    folder = checkpoints or Path(platform.checkpoints_uri) / config.name / key
    log.info(
        "training %s (%s) on %d rows, checkpoints in %s",
        config.name,
        config.model.type,
        train_ref.rows,
        folder,
    )
    trained = fit_model(config, train_frame, folder, params, home=Path(platform.home))

    validations = validation_results(lakehouse, config, as_of)
    lineage = {
        **git_state(),
        "config_hash": config_hash(config),
        "config_source_hash": source_hash,
        "seed": str(config.model.seed),
        "as_of": as_of.isoformat(),
        "feature_service": config.features.feature_service,
        "train_dataset_uri": train_ref.uri,
        "train_dataset_digest": train_ref.digest,
        "test_dataset_uri": test_ref.uri,
        "test_dataset_digest": test_ref.digest,
        "validation_results": f"{len(validations)} results, latest {(validations or ['none'])[-1]}",
        "validation_results_digest": digest_of(validations),
        "tuning": tuning_record(tuning),
        "trigger_reason": trigger_reason,
        "dag_run_id": dag_run_id or os.environ.get("AIRFLOW_CTX_DAG_RUN_ID", ""),
    }
    mlflow.set_tracking_uri(platform.mlflow_tracking_uri)
    experiment = experiment_id(client, platform, config.name)
    close_abandoned_runs(client, experiment, key)
    # The key is set as the run is created, so that even a try that fails on its next call
    # leaves a run its retry can find (close_abandoned_runs).
    with mlflow.start_run(experiment_id=experiment, tags={f"{TAG}run_key": key}) as run:
        run_id = run.info.run_id
        mlflow.set_tags({**as_tags(lineage), f"{TAG}training_run_id": run_id})
        mlflow.log_params(
            {
                "model_type": config.model.type,
                "seed": config.model.seed,
                "resumed_from_epoch": trained.resumed_from_epoch or 0,
                **{f"param.{k}": v for k, v in params.model_dump().items()},
            }
        )
        _log_epochs(client, run_id, trained.history)
        for ref, frame, context in (
            (train_ref, train_frame, "training"),
            (test_ref, test_frame, "testing"),
        ):
            dataset = from_pandas(
                frame,
                source=ref.uri,
                targets=config.target,
                name=Path(ref.uri).stem,
                digest=ref.digest[:16],
            )
            mlflow.log_input(dataset, context=context, tags={"digest": ref.digest})
        mlflow.log_text(config_snapshot(config), CONFIG_ARTIFACT)
        mlflow.log_text(
            json.dumps({**lineage, "validation_results": validations}, indent=2), LINEAGE_ARTIFACT
        )
        model_uri = _log_model(trained, train_frame, config)
        mlflow.set_tag(f"{TAG}model_uri", model_uri)
    log.info("logged run %s", run_id)
    return run_id


def tuning_record(tuning: dict[str, Any] | None) -> str:
    """The lineage's word on tuning: "none", or its study, parent run, result and parameters."""
    if not tuning:
        return "none"
    kept = ("study", "tuning_run_id", "metric", "baseline_value", "best_value", "params", "trials")
    return json.dumps({key: tuning.get(key) for key in kept}, sort_keys=True, default=str)


def close_abandoned_runs(client: MlflowClient, experiment: str, key: str) -> None:
    """Mark FAILED the runs of this training (same ``run_key``) still RUNNING: a try that lost
    the tracking database mid-logging could not close its own run, and the retry replaces it.
    A run another process is still logging would be set FINISHED again when it ends."""
    abandoned = client.search_runs(
        [experiment], filter_string=f"tags.`{TAG}run_key` = '{key}' and attributes.status = 'RUNNING'"
    )
    for run in abandoned:
        client.set_terminated(run.info.run_id, status="FAILED")
        log.warning("run %s of an earlier try was left RUNNING; marked FAILED", run.info.run_id)


def _log_epochs(client: MlflowClient, run_id: str, history: list[dict[str, float]]) -> None:
    from mlflow.entities import Metric

    metrics = [
        Metric(name, value, 0, int(epoch["epoch"]))
        for epoch in history
        for name, value in (
            ("train_loss", epoch["loss"]),
            ("samples_per_second", epoch["samples_per_second"]),
        )
    ]
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(run_id, metrics=metrics[start : start + 1000])


def _log_model(trained: Any, train_frame: pd.DataFrame, config: ModelConfig) -> str:
    import mlflow
    from mlflow.models import infer_signature

    from pipelines.models.pyfunc import BUNDLE, ConveyorModel

    example = train_frame[feature_columns(config)].head(5)
    with tempfile.TemporaryDirectory() as scratch:
        bundle = Path(scratch) / "model.pt"
        trained.save(bundle)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ConveyorModel(),
            artifacts={BUNDLE: str(bundle)},
            signature=infer_signature(example, trained.predict(example)),
            input_example=example,
            pip_requirements=_requirements(),
        )
    return str(info.model_uri)


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("torch", "pandas", "numpy", "mlflow", "conveyor")]
