"""The task factory: the same step as a subprocess, a Docker container or a Kubernetes pod."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException
from conveyor.operators.step import ConveyorStepOperator, parse_result, step_task

TRAIN = "training.train.train_model"
ARGS = ("-m", "freight_volume", "-d", "{{ ds }}", "--json")
COMMAND = ["train", *ARGS]


def test_local_mode_runs_the_command_as_a_subprocess(monkeypatch):
    monkeypatch.delenv("CONVEYOR_EXECUTION", raising=False)
    task = step_task(TRAIN, *ARGS, gpu=True)
    assert isinstance(task, ConveyorStepOperator)
    assert task.task_id == "train_model" and task.step == TRAIN
    assert task.arguments == COMMAND and task.pool == "gpu"


def test_docker_mode_runs_the_task_image_with_state_volume_and_a_gpu(monkeypatch):
    monkeypatch.setenv("CONVEYOR_EXECUTION", "docker")
    monkeypatch.setenv("CONVEYOR_TASK_IMAGE", "registry.example/conveyor/task:1.2")
    gpu = step_task(TRAIN, *ARGS, gpu=True)
    cpu = step_task("training.evaluate.evaluate_model", "-m", "freight_volume")
    assert type(gpu).__name__ == "ConveyorDockerOperator"
    assert gpu.image == "registry.example/conveyor/task:1.2"
    assert gpu.task_id == "train_model" and gpu.command == COMMAND
    assert gpu.docker_url.startswith("tcp://"), "Docker is reached through the socket proxy"
    assert [(m["Target"], m["Source"]) for m in gpu.mounts] == [("/var/lib/conveyor", "conveyor-state")]
    assert gpu.device_requests[0]["Capabilities"] == [["gpu"]]
    assert not cpu.device_requests


def test_kubernetes_mode_runs_a_pod_asking_for_a_gpu(monkeypatch):
    monkeypatch.setenv("CONVEYOR_EXECUTION", "kubernetes")
    pod = step_task(TRAIN, *ARGS, gpu=True)
    assert type(pod).__name__ == "ConveyorPodOperator"
    assert pod.queue == "gpu" and pod.pool == "gpu"
    assert pod.cmds == ["conveyor"] and pod.arguments == COMMAND
    assert pod.container_resources.limits == {"nvidia.com/gpu": "1"}
    assert pod.volume_mounts[0].mount_path == "/var/lib/conveyor"
    # env_vars stays a template until the task renders; the declared value is what we pass
    assert pod.env_vars["CONVEYOR_RESULT_FILE"] == "/airflow/xcom/return.json" and pod.do_xcom_push


def test_an_unknown_mode_is_named(monkeypatch):
    monkeypatch.setenv("CONVEYOR_EXECUTION", "slurm")
    with pytest.raises(ValueError, match="CONVEYOR_EXECUTION='slurm'; use local, docker or kubernetes"):
        step_task(TRAIN, *ARGS)


def test_a_step_the_catalog_does_not_know_is_named():
    with pytest.raises(ValueError, match=r"'training\.train\.fit' is not a Conveyor step"):
        step_task("training.train.fit", *ARGS)


def test_bad_input_fails_the_task_without_retries(conveyor_home):
    task = ConveyorStepOperator(
        task_id="ingest_batch", arguments=["ingest", "-m", "nope", "-d", "2024-01-01"]
    )
    with pytest.raises(AirflowFailException, match=r"no model called 'nope'.*exit 2: bad input, not retried"):
        task.execute({"run_id": "manual__test"})


def test_the_last_json_line_is_the_result():
    assert parse_result('log line\n{"run_id": "abc"}\n') == {"run_id": "abc"}
    assert parse_result('{"run_id": "abc"}\nINFO conveyor: a log line on stderr\n') == {"run_id": "abc"}
    assert parse_result("trained: run abc\n") is None


def test_the_codes_not_retried_are_those_of_bad_input_in_the_errors_list():
    from conveyor.operators.step import NON_RETRYABLE_EXIT_CODES

    from pipelines.errors import conveyor_errors

    for error in conveyor_errors():
        assert (error.exit_code in NON_RETRYABLE_EXIT_CODES) == (not error.retryable), error.__name__
    assert {2, 3, 4, 5, 7, 10} == NON_RETRYABLE_EXIT_CODES, (
        "config, conflict, missing input, rejected, gate-blocked, model files changed"
    )
