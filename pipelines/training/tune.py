"""Hyperparameter tuning before training: one Optuna study per train DAG run, its trials
spread over mapped tasks on any worker.

``create_study`` opens the study in the platform's tuning database (so every worker's
trials share it) and a parent MLflow run. ``tune_trial`` runs one trial: parameters from
the config's ``tuning.search_space``, a model fitted on the training set less its last
``validation_days`` days and judged on those days (never on the test set, which stays for
the gate), reported after each epoch so the pruner can stop a poor trial early, logged as
an MLflow run nested under the parent. Slot 0 trains the config's own parameters instead,
the reference a trial must beat. ``finish_tuning`` picks the best trial; its parameters
train the real run when they beat the reference, else the config's own do.

Reproducible: each slot samples from its own stream (seeded by ``sampler_seed`` and the
slot) and training is seeded, so a rerun on the same data in the same order finds the same
best parameters. Across orders (several workers) it need not: TPE's proposals after its
``startup_trials`` depend on which trials had finished when a slot asked (Optuna's own
caveat for parallel studies), and the median pruner judges a trial against those that
reported before it; ``sampler: random`` with ``pruner: none`` is independent of order.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.errors import ConfigError, MissingInputError
from pipelines.features.datasets import read_dataset, split_last_days
from pipelines.training.lineage import TAG
from pipelines.training.tracking import experiment_id

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig
    from pipelines.config.tuning import SearchRange, TuningConfig

log = logging.getLogger("conveyor.tune")
PARENT_RUN, STARTED_AT, BASELINE = "tuning_run_id", "started_at", "baseline_value"
MLFLOW_PARENT = "mlflow.parentRunId"  # what makes a run nested in MLflow's UI


def tuning_of(config: ModelConfig) -> TuningConfig:
    if config.tuning is None:
        raise ConfigError(
            f"{config.name} has no tuning section; add one to configs/models/{config.name}.yaml"
        )
    return config.tuning


def storage_url(platform: PlatformConfig) -> str:
    return platform.tuning_storage_url or f"sqlite:///{Path(platform.home) / 'tuning.db'}"


def open_storage(platform: PlatformConfig) -> optuna.storages.RDBStorage:
    import optuna

    url = storage_url(platform)
    # SQLite: two workers' writes wait for each other rather than fail at once.
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine)


def study_name(config: ModelConfig, dag_run_id: str) -> str:
    """One study per training: a retried task finds its run's study again."""
    return f"{config.name}__{dag_run_id}"


def create_study(
    platform: PlatformConfig, config: ModelConfig, client: MlflowClient, *, dag_run_id: str
) -> dict[str, Any]:
    """Create (or, on a retry, find) the run's study and its parent MLflow run."""
    import optuna

    tuning = tuning_of(config)
    name = study_name(config, dag_run_id)
    study = optuna.create_study(
        study_name=name, storage=open_storage(platform), direction=tuning.direction, load_if_exists=True
    )
    parent = study.user_attrs.get(PARENT_RUN)
    if parent is None:
        run = client.create_run(
            experiment_id(client, platform, config.name),
            run_name=f"tuning {dag_run_id}",
            tags={f"{TAG}kind": "tuning", f"{TAG}tuning_study": name, f"{TAG}dag_run_id": dag_run_id},
        )
        parent = run.info.run_id
        client.log_text(parent, json.dumps(tuning.model_dump(mode="json"), indent=2), "tuning.json")
        study.set_user_attr(PARENT_RUN, parent)
        study.set_user_attr(STARTED_AT, time.time())
    log.info("study %s: %d trials, %d at a time; parent run %s", name, tuning.trials, tuning.workers, parent)
    return {"study": name, "tuning_run_id": parent, "trials": tuning.trials}


def validation_split(config: ModelConfig, train_uri: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training set less its last ``tuning.validation_days`` days, and those days."""
    days = tuning_of(config).validation_days
    return split_last_days(read_dataset(train_uri), days, "part of the training set left to fit trials",
                           "tuning.validation_days")  # fmt: skip


def suggest(trial: optuna.Trial, config: ModelConfig) -> dict[str, Any]:
    """The trial's parameters from the search space, typed as the model type takes them."""
    from pipelines.config.params import PARAMS_BY_TYPE
    from pipelines.config.tuning import Choices

    fields = PARAMS_BY_TYPE[config.model.type].model_fields
    params: dict[str, Any] = {}
    space: SearchRange
    for name, space in tuning_of(config).search_space.items():
        if isinstance(space, Choices):  # Optuna stores plain values: a list choice travels as JSON
            params[name] = json.loads(trial.suggest_categorical(name, [json.dumps(c) for c in space.choices]))
        elif fields[name].annotation is int:
            params[name] = trial.suggest_int(
                name, int(space.low), int(space.high), step=int(space.step or 1), log=space.log
            )
        else:
            params[name] = trial.suggest_float(name, space.low, space.high, step=space.step, log=space.log)
    return params


def sampler_for(tuning: TuningConfig, slot: int) -> optuna.samplers.BaseSampler:
    import numpy as np
    import optuna

    # Each slot its own stream, no two (seed, slot) pairs alike: seed 7's slot 2 is not seed 8's slot 1.
    seed = int(np.random.SeedSequence([tuning.sampler_seed, slot]).generate_state(1)[0])
    if tuning.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=tuning.startup_trials)


def pruner_for(tuning: TuningConfig) -> optuna.pruners.BasePruner:
    import optuna

    if tuning.pruner == "none":
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(
        n_startup_trials=tuning.startup_trials, n_warmup_steps=tuning.prune_after_epochs
    )


def score(model: Any, frame: pd.DataFrame, config: ModelConfig) -> float:
    """The tuning metric of ``model`` on ``frame``."""
    from pipelines.features.datasets import feature_columns
    from pipelines.training.metrics import PREDICTION, evaluate_predictions

    scored = frame.assign(**{PREDICTION: model.predict(frame[feature_columns(config)])})
    return float(evaluate_predictions(scored, config).overall[tuning_of(config).metric])


def tune_trial(
    platform: PlatformConfig,
    config: ModelConfig,
    client: MlflowClient,
    *,
    study: str,
    slot: int,
    train_uri: str,
) -> dict[str, Any]:
    """Run the study's trial in ``slot`` (slot 0: the config's own parameters)."""
    import optuna

    tuning = tuning_of(config)
    handle = optuna.load_study(
        study_name=study, storage=open_storage(platform), sampler=sampler_for(tuning, slot),
        pruner=pruner_for(tuning),
    )  # fmt: skip
    parent = handle.user_attrs[PARENT_RUN]
    fail_abandoned(handle, slot)
    age_minutes = (time.time() - handle.user_attrs[STARTED_AT]) / 60
    if slot and age_minutes > tuning.timeout_minutes:
        log.warning("study %s is %.1f min old (timeout_minutes %s): slot %d skipped", study, age_minutes,
                    tuning.timeout_minutes, slot)  # fmt: skip
        return {"slot": slot, "state": "SKIPPED", "why": "the study's timeout passed"}
    fit_rows, validation = validation_split(config, train_uri)
    metric = f"validation_{tuning.metric}"
    run = client.create_run(
        experiment_id(client, platform, config.name),
        run_name="baseline" if slot == 0 else f"trial slot {slot}",
        tags={MLFLOW_PARENT: parent, f"{TAG}kind": "tuning_trial", f"{TAG}tuning_study": study},
    )
    trial = None if slot == 0 else handle.ask()
    params = config.model.params if trial is None else suggest(trial, config)
    if trial is not None:
        trial.set_user_attr("slot", slot)
        trial.set_user_attr("mlflow_run_id", run.info.run_id)
    client.log_batch(run.info.run_id, params=_as_params({**params, "slot": slot}))

    scores: list[float] = []

    def after_epoch(model: Any, epoch: int) -> None:
        value = score(model, validation, config)
        scores.append(value)
        client.log_metric(run.info.run_id, metric, value, step=epoch)
        if trial is not None:
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"{metric} {value:.4f} after epoch {epoch}")

    try:
        fit(platform, config, params, fit_rows, after_epoch)
    except optuna.TrialPruned as pruned:
        assert trial is not None
        handle.tell(trial, state=optuna.trial.TrialState.PRUNED)
        client.set_tag(run.info.run_id, f"{TAG}trial_state", "PRUNED")
        client.set_terminated(run.info.run_id, "KILLED")
        log.info("slot %d pruned: %s", slot, pruned)
        return {"slot": slot, "trial": trial.number, "state": "PRUNED", "params": params}
    except BaseException:
        if trial is not None:
            handle.tell(trial, state=optuna.trial.TrialState.FAIL)
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    value = scores[-1]  # the last epoch's model is the fitted model: scored once, not again
    if trial is None:
        handle.set_user_attr(BASELINE, value)
    else:
        handle.tell(trial, value)
    client.set_tag(run.info.run_id, f"{TAG}trial_state", "COMPLETE")
    client.set_terminated(run.info.run_id, "FINISHED")
    log.info("slot %d: %s %.4f with %s", slot, metric, value, params)
    number = None if trial is None else trial.number
    return {"slot": slot, "trial": number, "state": "COMPLETE", "value": value, "params": params}


def fit(
    platform: PlatformConfig,
    config: ModelConfig,
    params: dict[str, Any],
    fit_rows: pd.DataFrame,
    after_epoch: Any,
) -> None:
    """Fit ``params`` on ``fit_rows`` (scratch checkpoints: a trial is cheap to redo), calling
    ``after_epoch(model, epoch)`` after every epoch, the last one included."""
    from pipelines.models import fit_model, resolve_params

    with tempfile.TemporaryDirectory(prefix="conveyor-trial-") as scratch:
        fit_model(config, fit_rows, Path(scratch), resolve_params(config, params),
                  home=Path(platform.home), on_epoch=after_epoch)  # fmt: skip


def fail_abandoned(study: optuna.Study, slot: int) -> None:
    """A retried slot's earlier trial, left RUNNING by a killed try, is FAILED: its retry replaces it."""
    import optuna

    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if trial.user_attrs.get("slot") == slot:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            log.warning("trial %d of an earlier try of slot %d was left running; marked failed", trial.number,
                        slot)  # fmt: skip


def finish_tuning(
    platform: PlatformConfig, config: ModelConfig, client: MlflowClient, *, study: str
) -> dict[str, Any]:
    """The parameters training should use: the best trial's when it beats the config's own
    on the validation split, else none (the config's own). Closes the parent run."""
    import optuna

    tuning = tuning_of(config)
    handle = optuna.load_study(study_name=study, storage=open_storage(platform))
    trials = handle.get_trials(deepcopy=False)
    counts = {state.name: sum(t.state == state for t in trials) for state in optuna.trial.TrialState}
    baseline = handle.user_attrs.get(BASELINE)
    if baseline is None:
        raise MissingInputError(f"study {study} has no result for the config's own parameters (slot 0);"
                                " its task failed or never ran: rerun tune_trial")  # fmt: skip
    sign = -1.0 if tuning.direction == "maximize" else 1.0  # lower is better after the sign
    done = optuna.trial.TrialState.COMPLETE
    completed = sorted((sign * float(t.value or 0.0), t.number, t) for t in trials if t.state == done)
    best = completed[0][2] if completed else None
    beats = bool(completed) and completed[0][0] < sign * baseline
    params = (
        {name: _decoded(name, value, config) for name, value in best.params.items()} if beats and best else {}
    )
    parent = handle.user_attrs[PARENT_RUN]
    summary = {
        "study": study,
        "tuning_run_id": parent,
        "metric": tuning.metric,
        "baseline_value": baseline,
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "params": params,
        "trials": {k: v for k, v in counts.items() if v},
    }
    client.log_batch(parent, params=_as_params({f"best.{k}": v for k, v in params.items()}))
    client.log_metric(parent, f"baseline_validation_{tuning.metric}", baseline)
    if best is not None and best.value is not None:
        client.log_metric(parent, f"best_validation_{tuning.metric}", best.value)
    client.log_text(parent, json.dumps(summary, indent=2, default=str), "tuning_result.json")
    client.set_terminated(parent, "FINISHED")
    if params:
        log.info("best of %s: trial %s, %s %s against the config's %.4f: %s", study, summary["best_trial"],
                 tuning.metric, summary["best_value"], baseline, params)  # fmt: skip
    else:
        log.info("no trial of %s beat the config's own parameters (%s %.4f); training with them",
                 study, tuning.metric, baseline)  # fmt: skip
    return summary


def tune_in_process(
    platform: PlatformConfig, config: ModelConfig, client: MlflowClient, *, train_uri: str, run_name: str
) -> dict[str, Any]:
    """The tuning stage in this process, slot after slot: what the train DAG's mapped tasks do,
    for the demo, tests and the benchmark's baseline."""
    study = create_study(platform, config, client, dag_run_id=run_name)["study"]
    for slot in range(tuning_of(config).trials + 1):
        tune_trial(platform, config, client, study=study, slot=slot, train_uri=train_uri)
    return finish_tuning(platform, config, client, study=study)


def _decoded(name: str, value: Any, config: ModelConfig) -> Any:
    from pipelines.config.tuning import Choices

    return json.loads(value) if isinstance(tuning_of(config).search_space[name], Choices) else value


def _as_params(values: dict[str, Any]) -> list[Any]:
    from mlflow.entities import Param

    return [
        Param(key, json.dumps(value) if isinstance(value, list) else str(value))
        for key, value in values.items()
    ]
