"""Every DAG loads, is documented and owned, retries, and parses fast without heavy imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from pipelines.config.load import load_model_config, model_names

DAGS = Path(__file__).resolve().parents[2] / "dags"
KINDS = ("ingest", "train", "monitor", "rollback", "cleanup")
HEAVY = ("torch", "transformers", "great_expectations", "mlflow", "feast", "pandas")


@pytest.fixture(scope="module")
def bag() -> DagBag:
    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports_cleanly(bag):
    assert bag.import_errors == {}


def test_every_model_config_gets_every_kind_of_dag(bag):
    expected = {f"{model}__{kind}" for model in model_names() for kind in KINDS}
    assert expected <= set(bag.dag_ids)
    assert {"freight_volume__train", "search_relevance__train"} <= set(bag.dag_ids), (
        "both models, no DAG code"
    )


def test_dags_are_owned_tagged_documented_and_retry(bag):
    for dag in bag.dags.values():
        model = dag.dag_id.split("__")[0]
        assert {"conveyor", model} <= set(dag.tags), dag.dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag.dag_id
        assert dag.description, dag.dag_id
        for task in dag.tasks:
            assert task.owner == load_model_config(model).owner, (dag.dag_id, task.task_id)
            assert task.retries >= 1, (dag.dag_id, task.task_id)


# Airflow's own control tasks: no step of ours behind them.
CONTROL_TASKS = {"EmptyOperator", "TriggerDagRunOperator", "ApprovalOperator"}


def test_every_task_resolves_to_its_step_function_in_one_hop(bag):
    """A reader goes from a task id to its code: the task's step names the function
    (``pipelines.<stage>.<module>.<function>``), whose name is the task id, and the task runs
    the CLI command that calls it."""
    import importlib

    from conveyor.steps import STEP_COMMANDS, step_command

    from pipelines.cli import app

    def name(command):  # typer names a command after its function unless told otherwise
        return command.name or command.callback.__name__.replace("_", "-")

    commands = {(name(c),) for c in app.registered_commands}
    commands |= {
        (g.name, name(c)) for g in app.registered_groups for c in g.typer_instance.registered_commands
    }
    used = set()
    for dag in bag.dags.values():
        for task in dag.tasks:
            if type(task).__name__ in CONTROL_TASKS:
                continue
            where = (dag.dag_id, task.task_id)
            if hasattr(task, "python_callable"):  # a decision between steps, in plugins/conveyor
                assert task.python_callable.__name__ == task.task_id, where
                continue
            module, _, name = f"pipelines.{task.step}".rpartition(".")
            function = getattr(importlib.import_module(module), name)
            assert callable(function) and function.__name__ == task.task_id, where
            command = STEP_COMMANDS[task.step]
            assert command in commands, f"{where}: no `conveyor {' '.join(command)}`"
            # A sensor builds its step's task at each poke, from the step and its arguments.
            if type(task).__name__ == "MappedOperator":  # one command an instance: check the first
                arguments = task.expand_input.value["arguments"][0]
            else:
                arguments = getattr(task, "arguments", None) or step_command(task.step, task.step_arguments)
            assert arguments[: len(command)] == list(command), where
            used.add(task.step)
    assert used == set(STEP_COMMANDS), f"steps no DAG runs: {set(STEP_COMMANDS) - used}"


def test_dag_files_only_wire():
    for dag_file in DAGS.glob("*.py"):
        source = dag_file.read_text()
        assert len(source.splitlines()) < 60, dag_file.name
        assert " if " not in source and "@task" not in source and '"""\n###' not in source, dag_file.name


def test_training_cannot_pile_up(bag):
    assert bag.dags["freight_volume__train"].max_active_runs == 1


def test_training_asks_for_the_gpu_pool_and_the_gpu_workers_queue(bag):
    train = bag.dags["freight_volume__train"]
    assert train.get_task("train_model").pool == "gpu"
    assert train.get_task("train_model").queue == "gpu"
    assert train.get_task("evaluate_model").pool != "gpu"
    assert train.get_task("evaluate_model").queue == "default"


@pytest.mark.parametrize("dag_file", sorted(p.name for p in DAGS.glob("*.py")))
def test_a_dag_file_parses_fast_and_imports_nothing_heavy(dag_file):
    # A fresh interpreter: Airflow itself is imported first and not counted. CPU seconds of
    # the parse, what the DAG processor pays for it, whatever else the machine is doing.
    script = f"""
import json, runpy, sys, time
sys.path.insert(0, {str(DAGS.parent / "plugins")!r})
import airflow.sdk, airflow.providers.standard.operators.empty
started = time.process_time()
runpy.run_path({str(DAGS / dag_file)!r})
seconds = time.process_time() - started
heavy = [m for m in {HEAVY!r} if m in sys.modules]
print(json.dumps({{"seconds": seconds, "heavy": heavy}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["seconds"] < 1.0, f"{dag_file} took {result['seconds']:.2f} CPU s to parse"


def test_data_driven_retraining_adds_the_features_asset_to_the_nightly_schedule():
    import runpy

    namespace = runpy.run_path(str(DAGS / "conveyor_train.py"))
    config = load_model_config("freight_volume")
    triggers = config.triggers.model_copy(update={"on_new_features": True})
    dag = namespace["build_train_dag"](config.model_copy(update={"triggers": triggers}))
    assert type(dag.timetable).__name__ == "AssetOrTimeSchedule"
    assert "freight_volume_features" in str(dag.timetable.asset_condition)
    assert dag.timetable.timetable.expression == config.triggers.schedule


def test_a_run_without_logical_date_works_on_the_day_it_was_triggered(bag):
    from types import SimpleNamespace

    import pendulum
    from conveyor.dag_support import RUN_DAY

    task = bag.dags["freight_volume__train"].get_task("build_datasets")
    alert = SimpleNamespace(logical_date=None, run_after=pendulum.datetime(2026, 11, 25, 13, 5, tz="UTC"))
    scheduled = SimpleNamespace(logical_date=pendulum.datetime(2024, 4, 30, tz="UTC"), run_after=None)
    assert task.render_template(RUN_DAY, {"dag_run": alert}) == "2026-11-25"
    assert task.render_template(RUN_DAY, {"dag_run": scheduled}) == "2024-04-30"


def test_human_approval_sits_between_the_gate_and_the_promotion_when_asked():
    import runpy

    namespace = runpy.run_path(str(DAGS / "conveyor_train.py"))
    config = load_model_config("freight_volume")
    gates = config.gates.model_copy(update={"require_approval": True})
    dag = namespace["build_train_dag"](config.model_copy(update={"gates": gates}))
    approval = dag.get_task("approve_promotion")
    assert type(approval).__name__ == "ApprovalOperator"
    assert approval.upstream_task_ids == {"choose_promotion"}
    assert approval.downstream_task_ids == {"promote_model"}
    assert "gate_model" in approval.body, "the operator reads the gate report before approving"
    assert "register_model')['card']" in approval.body, "and the model card"
    assert "approve_promotion" not in bag_without_approval().task_ids


def bag_without_approval():
    import runpy

    return runpy.run_path(str(DAGS / "conveyor_train.py"))["freight_volume__train"]
