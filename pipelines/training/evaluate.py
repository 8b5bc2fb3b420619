"""The evaluate_model step: score a training run's test set, log the metrics overall and per
slice, publish the test predictions as a dataset."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipelines.features.datasets import DatasetRef, feature_columns, publish_dataset
from pipelines.training.lineage import TAG, from_tags
from pipelines.training.metrics import PREDICTION, Evaluation, check_slices, evaluate_predictions
from pipelines.training.train import dataset_ref

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig
    from pipelines.lakehouse.storage import Lakehouse

log = logging.getLogger("conveyor.evaluate")


@dataclass(frozen=True)
class EvaluationResult:
    evaluation: Evaluation
    predictions: DatasetRef


def evaluate_model(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    lakehouse: Lakehouse,
    run_id: str,
) -> EvaluationResult:
    """Score the run's test set; write the predictions dataset; log metrics (one batch)."""
    import mlflow
    from mlflow.entities import Metric

    fields = from_tags(dict(client.get_run(run_id).data.tags))
    _, train_frame = dataset_ref("train", fields["train_dataset_uri"])
    _, test_frame = dataset_ref("test", fields["test_dataset_uri"])
    check_slices(train_frame, test_frame, config)
    model = mlflow.pyfunc.load_model(fields["model_uri"])
    scored = test_frame.assign(**{PREDICTION: model.predict(test_frame[feature_columns(config)])})
    predictions = publish_dataset(lakehouse, config.name, "predictions", scored)
    evaluation = evaluate_predictions(scored, config)
    client.log_batch(run_id, metrics=[Metric(k, v, 0, 0) for k, v in evaluation.flat().items()])
    client.set_tag(run_id, f"{TAG}predictions_dataset_uri", predictions.uri)
    client.set_tag(run_id, f"{TAG}predictions_dataset_digest", predictions.digest)
    log.info(
        "%s run %s: %s",
        config.name,
        run_id,
        {k: round(v, 3) for k, v in evaluation.overall.items()},
    )
    return EvaluationResult(evaluation, predictions)
