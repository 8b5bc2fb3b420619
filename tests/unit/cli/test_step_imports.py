"""What a step's process imports before it works: every step is a fresh ``conveyor`` process,
so a heavy import on its path is paid on every task. Each check runs in a fresh interpreter.

The import path of a step is the one ``benchmarks/startup.py`` measures: the console script's
entry, then the imports of the CLI command and of the ``pipelines`` functions it calls by name.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest
from conveyor.steps import STEP_COMMANDS

REPO = Path(__file__).resolve().parents[3]
# The steps that read features: only they may import Feast.
FEATURE_STEPS = {
    "features.store.apply_features",
    "features.store.materialize_features",
    "features.datasets.build_datasets",
}
# The steps that fit a model: only they may import torch (Feast's import no longer does).
TORCH_STEPS = {"training.train.train_model", "training.tune.tune_trial"}
# No step module may import these at its top: each is imported by the function that needs it.
HEAVY = ("feast", "torch", "transformers", "mlflow", "great_expectations", "evidently", "optuna", "sklearn")


def run_fresh(script: str) -> object:
    """The JSON a fresh interpreter prints last, running ``script`` in the repository."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def startup() -> ModuleType:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        return importlib.import_module("startup")
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def test_the_cli_and_every_step_module_import_nothing_heavy_at_their_top():
    modules = sorted({f"pipelines.{step.rsplit('.', 1)[0]}" for step in STEP_COMMANDS})
    imported = run_fresh(
        f"""
        import importlib, json, sys
        import pipelines.cli
        for module in {modules!r}:
            importlib.import_module(module)
        print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))
        """
    )
    assert imported == [], f"imported when the step modules are: {imported}"


@pytest.mark.parametrize(
    ("heavy", "allowed"), [("feast", FEATURE_STEPS), ("torch", TORCH_STEPS)], ids=["feast", "torch"]
)
def test_a_step_imports_feast_or_torch_only_where_it_uses_them(startup, heavy, allowed):
    source = startup.Source(REPO)
    commands = source.commands()
    paths = {
        step: source.import_path(*commands[command])
        for step, command in STEP_COMMANDS.items()
        if step not in allowed
    }
    # One interpreter for all the steps: the first statement that brings `heavy` in is named.
    culprit = run_fresh(
        f"""
        import json, sys
        sys.argv = ["conveyor", "--help"]
        from pipelines.cli import main
        try:
            main()
        except SystemExit:
            pass
        culprit = None
        for step, statements in {paths!r}.items():
            for statement in statements:
                exec(statement)
                if {heavy!r} in sys.modules:
                    culprit = [step, statement]
                    break
            if culprit:
                break
        print(json.dumps(culprit))
        """
    )
    assert culprit is None, f"step {culprit[0]} imports {heavy} by `{culprit[1]}`"  # type: ignore[index]


def test_the_import_path_of_a_step_follows_the_functions_it_calls(startup):
    source = startup.Source(REPO)
    path = source.import_path(*source.commands()[STEP_COMMANDS["features.datasets.build_datasets"]])
    # datasets_build -> feature_store (pipelines.features.store) -> Feast
    assert "from feast import FeatureStore" in path
    assert "from pipelines.features.datasets import build_datasets" in path
