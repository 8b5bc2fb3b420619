"""The model registry (the MLflow server of the compose stack, on PostgreSQL) goes away
while a challenger is being registered: the step fails with an error that says so and
is worth retrying, nothing is half-registered, the champion is untouched, and the retry
after the server returns registers the version once."""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.errors import RegistryUnavailableError
from pipelines.features.store import feature_store
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.cycle import run_training_cycle
from pipelines.release.gate import gate_model
from pipelines.release.register import register_model
from pipelines.release.registry import CHALLENGER, CHAMPION, alias_version
from pipelines.training.evaluate import evaluate_model
from pipelines.training.lineage import from_tags
from pipelines.training.tracking import mlflow_client
from pipelines.training.train import train_model
from tests.conftest import TRAINED_AS_OF
from tests.integration.conftest import MACHINE_REDIS
from tests.support import MlflowServer


@pytest.fixture
def registry(stack_env, new_database, tmp_path, monkeypatch):
    server = MlflowServer(new_database(), new_database(), tmp_path / "mlflow")
    server.start()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", server.PASSWORD)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")  # fail in seconds, not minutes
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("CONVEYOR_REDIS", MACHINE_REDIS)
    platform = load_platform_config()
    yield server, platform
    server.stop()
    feature_store(platform).teardown()


def test_a_registry_outage_during_registration_changes_nothing_and_a_retry_registers_once(registry):
    server, platform = registry
    config = load_model_config("freight_volume")
    lakehouse, client = Lakehouse(platform.lakehouse_uri), mlflow_client(platform)
    first = run_training_cycle(
        platform, config, lakehouse, client, as_of=TRAINED_AS_OF, trigger_reason="manual"
    )
    assert alias_version(client, config.name, CHAMPION) == first.version == "1"

    # A challenger is trained, evaluated and gated against the champion...
    lineage = from_tags(dict(client.get_model_version(config.name, "1").tags))
    run_id = train_model(platform, config, client, lakehouse, train_uri=lineage["train_dataset_uri"],
                            test_uri=lineage["test_dataset_uri"], as_of=TRAINED_AS_OF,
                            trigger_reason="schedule", overrides={"epochs": 2})  # fmt: skip
    evaluate_model(platform, config, client, lakehouse, run_id)
    gate_model(platform, config, client, run_id)

    # ...and the registry goes away just as it is registered. While it is away, nobody
    # reads its silence as "there is no champion" (a gate would judge a first deploy).
    server.stop()
    with pytest.raises(MlflowException):
        alias_version(client, config.name, CHAMPION)
    with pytest.raises(
        RegistryUnavailableError, match=r"is not registered as challenger and the champion is unchanged"
    ):
        register_model(platform, config, client, run_id)

    server.start()
    assert [v.version for v in client.search_model_versions(f"name='{config.name}'")] == ["1"]
    assert alias_version(client, config.name, CHAMPION) == "1"
    assert register_model(platform, config, client, run_id) == "2"
    assert register_model(platform, config, client, run_id) == "2", "a second retry registers nothing new"
    assert alias_version(client, config.name, CHALLENGER) == "2"
    assert alias_version(client, config.name, CHAMPION) == "1"
