"""Tuning before training: a real Optuna study on the demo data, its trials as nested MLflow
runs, the best parameters in the version's lineage, the same result again with the same
seed, and trials from two workers at once in one study on PostgreSQL."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import yaml

from pipelines.config.load import REPO_ROOT, load_model_config, load_platform_config
from pipelines.features.datasets import build_datasets, read_dataset
from pipelines.features.store import apply_features, feature_store
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.cycle import run_training_cycle
from pipelines.release.registry import read_lineage
from pipelines.training.tracking import mlflow_client
from pipelines.training.tune import (
    MLFLOW_PARENT,
    create_study,
    finish_tuning,
    tune_in_process,
    validation_split,
)
from tests.conftest import TRAINED_AS_OF


def tuned(config, **changes):
    tuning = config.tuning.model_copy(update={"enabled": True, **changes})
    return config.model_copy(update={"tuning": tuning})


def test_tuning_beats_the_configs_parameters_on_validation_and_trains_with_them(model_home: Path):
    platform, config = load_platform_config(), tuned(load_model_config("freight_volume"))
    client, lakehouse = mlflow_client(platform), Lakehouse(platform.lakehouse_uri)

    result = run_training_cycle(platform, config, lakehouse, client, as_of=TRAINED_AS_OF,
                                trigger_reason="manual", tune=True)  # fmt: skip

    lineage = read_lineage(client, f"freight_volume@{result.version}")["lineage"]
    tuning = json.loads(lineage["tuning"])
    assert tuning["params"], f"no trial beat the config's parameters: {tuning}"
    assert tuning["best_value"] < tuning["baseline_value"], tuning
    run_params = client.get_run(result.run_id).data.params
    for name, value in tuning["params"].items():
        assert yaml.safe_load(run_params[f"param.{name}"]) == value, name
    trials = client.search_runs([client.get_run(result.run_id).info.experiment_id],
                                f"tags.`{MLFLOW_PARENT}` = '{tuning['tuning_run_id']}'")  # fmt: skip
    assert len(trials) == config.tuning.trials + 1, "each trial, and the config's own, a nested run"
    assert sum(tuning["trials"].values()) == config.tuning.trials


def test_the_same_seed_and_data_find_the_same_best_parameters_and_a_new_seed_searches_elsewhere(
    model_home: Path,
):
    platform, config = load_platform_config(), tuned(load_model_config("freight_volume"), trials=3)
    client, lakehouse = mlflow_client(platform), Lakehouse(platform.lakehouse_uri)
    store = feature_store(platform)
    apply_features(store, config, lakehouse)
    train, _ = build_datasets(lakehouse, store, config, TRAINED_AS_OF)

    first = tune_in_process(platform, config, client, train_uri=train.uri, run_name="first")
    again = tune_in_process(platform, config, client, train_uri=train.uri, run_name="again")
    assert (again["params"], again["best_value"]) == (first["params"], first["best_value"])

    other = tuned(config, sampler_seed=8, trials=3)
    elsewhere = tune_in_process(platform, other, client, train_uri=train.uri, run_name="elsewhere")
    assert elsewhere["best_value"] != first["best_value"], "the seed must steer the search"


def test_trials_judge_on_the_training_sets_last_days_never_the_test_set(model_home: Path):
    platform, config = load_platform_config(), tuned(load_model_config("freight_volume"))
    lakehouse = Lakehouse(platform.lakehouse_uri)
    store = feature_store(platform)
    apply_features(store, config, lakehouse)
    train, test = build_datasets(lakehouse, store, config, TRAINED_AS_OF)

    fit_rows, validation = validation_split(config, train.uri)
    days = validation["event_timestamp"].dt.normalize().unique()
    assert len(days) == config.tuning.validation_days
    assert validation["event_timestamp"].max() == read_dataset(train.uri)["event_timestamp"].max()
    assert fit_rows["event_timestamp"].max() < validation["event_timestamp"].min()
    assert validation["event_timestamp"].max() < read_dataset(test.uri)["event_timestamp"].min()


def test_trials_on_two_workers_at_once_share_one_study_in_postgresql(
    model_home: Path, postgres_url: str, tmp_path: Path, monkeypatch
):
    configs = tmp_path / "configs"
    shutil.copytree(REPO_ROOT / "configs", configs)
    local = configs / "platform" / "local.yaml"
    local.write_text(local.read_text().replace(
        "tuning_storage_url: sqlite:///${CONVEYOR_HOME}/tuning.db", f"tuning_storage_url: {postgres_url}"
    ))  # fmt: skip
    monkeypatch.setenv("CONVEYOR_CONFIG_DIR", str(configs))
    env = dict(os.environ)
    platform, config = load_platform_config(), load_model_config("freight_volume")
    assert platform.tuning_storage_url == postgres_url
    client, lakehouse = mlflow_client(platform), Lakehouse(platform.lakehouse_uri)
    store = feature_store(platform)
    apply_features(store, config, lakehouse)
    train, _ = build_datasets(lakehouse, store, config, TRAINED_AS_OF)
    study = create_study(platform, config, client, dag_run_id="two_workers")["study"]

    def worker(slots: list[int]) -> subprocess.Popen:
        """One worker: its slots one after another, as a worker takes mapped task instances."""
        trial = [sys.executable, "-m", "pipelines", "tune", "trial", "-m", "freight_volume", "--study", study]
        script = " && ".join(
            shlex.join([*trial, "--slot", str(s), "--train-dataset", train.uri]) for s in slots
        )
        return subprocess.Popen(["bash", "-c", script], env=env)

    workers = [worker([0, 1, 3]), worker([2, 4])]
    assert [w.wait(timeout=900) for w in workers] == [0, 0]
    result = finish_tuning(platform, config, client, study=study)

    trials = optuna.load_study(study_name=study, storage=postgres_url).get_trials()
    assert sorted(t.user_attrs["slot"] for t in trials) == [1, 2, 3, 4]
    assert len({t.number for t in trials}) == 4, "one study, each trial numbered once"
    first, second = ([t for t in trials if t.user_attrs["slot"] in slots] for slots in ({1, 3}, {2, 4}))
    overlapped = any(a.datetime_start < b.datetime_complete and b.datetime_start < a.datetime_complete
                     for a in first for b in second)  # fmt: skip
    assert overlapped, "the two workers' trials ran at the same time"
    assert result["baseline_value"] is not None and sum(result["trials"].values()) == 4
