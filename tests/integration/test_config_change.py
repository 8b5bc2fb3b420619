"""Deploy on a merged config change: check_config against a real champion and training."""

from __future__ import annotations

from pathlib import Path

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.cycle import run_training_cycle
from pipelines.monitor.config_change import CONFIG_CHANGED, check_config
from pipelines.release.config_diff import CONFIG_DIFF_ARTIFACT
from pipelines.training.tracking import mlflow_client
from tests.conftest import TRAINED_AS_OF


def with_epochs(config, epochs: int):
    params = {**config.model.params, "epochs": epochs}
    return config.model_copy(update={"model": config.model.model_copy(update={"params": params})})


def test_a_changed_config_is_trained_once_and_an_override_is_no_change(served_home: Path):
    platform, config = load_platform_config(), load_model_config("freight_volume")
    client, lakehouse = mlflow_client(platform), Lakehouse(platform.lakehouse_uri)

    same = check_config(platform, config, client, TRAINED_AS_OF)
    assert (same.breached, same.should_retrain, same.diff) == (False, False, "")

    # A run with the form's overrides trained the same file: no change.
    run_training_cycle(platform, config, lakehouse, client, as_of=TRAINED_AS_OF, trigger_reason="manual",
                       overrides={"epochs": 2})  # fmt: skip
    assert not check_config(platform, config, client, TRAINED_AS_OF).breached

    fewer = with_epochs(config, 6)
    changed = check_config(platform, fewer, client, TRAINED_AS_OF)
    assert changed.should_retrain and changed.value == 2, changed.diff
    assert "-    epochs: 8\n+    epochs: 6\n" in changed.diff

    # Trained once, the change is not trained again, whatever the gates decided (under the
    # config's canary release the champion stays the champion either way).
    trained = run_training_cycle(platform, fewer, lakehouse, client, as_of=TRAINED_AS_OF,
                                 trigger_reason=CONFIG_CHANGED)  # fmt: skip
    diff = client.download_artifacts(trained.run_id, CONFIG_DIFF_ARTIFACT, str(served_home))
    assert "+    epochs: 6" in Path(diff).read_text()
    after = check_config(platform, fewer, client, TRAINED_AS_OF)
    assert after.breached and not after.should_retrain and after.trained_run_id == trained.run_id
    assert check_config(platform, with_epochs(config, 5), client, TRAINED_AS_OF).should_retrain, (
        "the next change"
    )
