"""MLflow tracking: the client on the platform's server, and one experiment per model."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.platform import PlatformConfig


def mlflow_client(platform: PlatformConfig) -> MlflowClient:
    """A client on the platform's tracking server and registry (also set for fluent calls)."""
    import mlflow

    mlflow.set_tracking_uri(platform.mlflow_tracking_uri)
    mlflow.set_registry_uri(platform.mlflow_tracking_uri)
    return mlflow.MlflowClient(platform.mlflow_tracking_uri, platform.mlflow_tracking_uri)


def experiment_id(client: MlflowClient, platform: PlatformConfig, model: str) -> str:
    """One experiment per model, created on first use."""
    experiment = client.get_experiment_by_name(model)
    if experiment is not None:
        return str(experiment.experiment_id)
    return str(client.create_experiment(model, artifact_location=f"{platform.mlflow_artifact_uri}/{model}"))
