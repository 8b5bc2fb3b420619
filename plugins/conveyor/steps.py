"""Every step a DAG runs, named by the function that does it: ``<stage>.<module>.<function>``
under ``pipelines``. The function's name is the task id; the value is the ``conveyor``
command that runs it, the same command in a subprocess, a container or a pod.

Imports nothing: DAG files read it at parse time. tests/dags checks that every task of
every DAG resolves to its function here and that each command exists in the CLI.
"""

from __future__ import annotations

STEP_COMMANDS: dict[str, tuple[str, ...]] = {
    "lakehouse.ingest.ingest_batch": ("ingest",),
    "lakehouse.validate.validate_batch": ("validate",),
    "lakehouse.gold.build_gold": ("gold",),
    "features.store.apply_features": ("features", "apply"),
    "features.store.materialize_features": ("features", "materialize"),
    "features.datasets.build_datasets": ("datasets", "build"),
    "features.datasets.cleanup_datasets": ("datasets", "cleanup"),
    "training.tune.create_study": ("tune", "start"),
    "training.tune.tune_trial": ("tune", "trial"),
    "training.tune.finish_tuning": ("tune", "finish"),
    "training.train.train_model": ("train",),
    "training.evaluate.evaluate_model": ("evaluate",),
    "release.gate.gate_model": ("gate",),
    "release.register.register_model": ("register",),
    "release.promote.promote_model": ("promote",),
    "release.rollback.rollback_champion": ("rollback",),
    "monitor.release.judge_candidate": ("release", "judge"),
    "monitor.actuals.ingest_actuals": ("actuals", "ingest"),
    "monitor.performance.check_performance": ("monitor", "performance"),
    "monitor.drift.check_drift": ("monitor", "drift"),
    "monitor.config_change.check_config": ("monitor", "config"),
}


def step_name(step: str) -> str:
    """The task id of a step: its function's name."""
    return step.rsplit(".", 1)[-1]


def step_command(step: str, arguments: tuple[str, ...]) -> list[str]:
    """``conveyor`` arguments that run ``step`` with ``arguments``."""
    if step not in STEP_COMMANDS:
        raise ValueError(f"{step!r} is not a Conveyor step; known steps: {', '.join(STEP_COMMANDS)}")
    return [*STEP_COMMANDS[step], *arguments]
