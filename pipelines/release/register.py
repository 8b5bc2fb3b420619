"""The register_model step: a training run's model becomes a new version, aliased challenger,
with its lineage."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.errors import ConveyorError, RegistryUnavailableError
from pipelines.release.digest import DIGEST_TAG, model_digest
from pipelines.release.registry import register_version
from pipelines.training.lineage import TAG

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig


def register_model(platform: PlatformConfig, config: ModelConfig, client: MlflowClient, run_id: str) -> str:
    """Register the run's model as a new version (alias ``challenger``) with its lineage."""
    from mlflow.exceptions import MlflowException, RestException

    try:
        run = client.get_run(run_id)
        tags = {k: v for k, v in run.data.tags.items() if k.startswith(TAG)}
        if f"{TAG}gate.promote" not in tags:
            raise ConveyorError(f"run {run_id} has not been through its gates; run `conveyor gate` first")
        model_uri = tags[f"{TAG}model_uri"]
        # What was judged, fixed: serving and the gates load this version only if its files still match.
        tags[DIGEST_TAG] = model_digest(model_uri)
        return register_version(client, platform, config.name, model_uri, run_id, tags)
    except RestException:
        raise  # the registry answered, with an error of its own: not an outage
    except (MlflowException, OSError) as error:  # refused, timed out, or failing after retries
        reason = str(error).splitlines()[0][:300]
        raise RegistryUnavailableError(
            f"the model registry at {client.tracking_uri} failed: {reason}. Run {run_id} is not"
            " registered as challenger and the champion is unchanged; registering again is safe"
            " (it finds the run's version if one was created)."
        ) from error
