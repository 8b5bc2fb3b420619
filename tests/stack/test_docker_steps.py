"""A step as the stack runs it (`CONVEYOR_EXECUTION=docker`): the task factory's Docker
operator starts a container of the task image on the engine, the step's JSON line is the
task's result, and bad input fails the task without retries, as it does in a subprocess."""

from __future__ import annotations

import uuid

import pytest
from airflow.sdk.exceptions import AirflowFailException

from tests.stack.conftest import docker

STATE = "/var/lib/conveyor"


@pytest.fixture
def state_volume(task_image, prepared_lakehouse, monkeypatch):
    """A named volume holding the prepared lakehouse, as the stack's state volume would."""
    volume = f"conveyor-test-{uuid.uuid4().hex[:8]}"
    docker("volume", "create", volume)
    docker("run", "--rm", "-v", f"{volume}:{STATE}", "-v", f"{prepared_lakehouse}:/prepared:ro",
           "--entrypoint", "cp", task_image, "-r", "/prepared", f"{STATE}/lakehouse")  # fmt: skip
    for name, value in {
        "CONVEYOR_EXECUTION": "docker",
        "CONVEYOR_TASK_IMAGE": task_image,
        "CONVEYOR_DOCKER_URL": "unix:///var/run/docker.sock",
        "CONVEYOR_DOCKER_NETWORK": "none",
        "CONVEYOR_STATE_VOLUME": volume,
        "CONVEYOR_ENV": "local",
    }.items():
        monkeypatch.setenv(name, value)
    yield volume
    left = docker("ps", "-aq", "--filter", f"volume={volume}").stdout.split()
    if left:
        docker("rm", "-f", *left)
    docker("volume", "rm", volume)


def containers_of(volume: str) -> list[str]:
    return docker("ps", "-aq", "--filter", f"volume={volume}").stdout.split()


@pytest.mark.parametrize("gpu", [False, True], ids=["cpu", "gpu-asked-on-an-engine-without-one"])
def test_a_step_runs_in_a_container_and_its_json_line_is_the_result(state_volume, gpu):
    from conveyor.operators.step import step_task

    step = ("monitor.actuals.ingest_actuals", "-m", "freight_volume", "-d", "2024-04-30", "--json")
    task = step_task(*step, gpu=gpu)
    assert bool(task.device_requests) == gpu
    assert type(task).__name__ == "ConveyorDockerOperator"
    result = task.execute({"run_id": "manual__stack"})
    assert result["model"] == "freight_volume" and result["rows"] > 0, result
    assert containers_of(state_volume) == [], "a container that succeeded is removed"


def test_bad_input_in_a_container_fails_the_task_without_retries(state_volume):
    from conveyor.operators.step import step_task

    task = step_task("lakehouse.ingest.ingest_batch", "-m", "nope", "-d", "2024-01-01")
    with pytest.raises(AirflowFailException, match=r"no model called 'nope'.*exit 2: bad input, not retried"):
        task.execute({"run_id": "manual__stack"})


def test_a_retry_stops_the_container_its_dead_workers_try_left_running(state_volume, task_image):
    """A worker that dies mid-task leaves its container running; the retry of that task
    instance must not run beside it (two trainings in one checkpoint folder)."""
    from conveyor.operators.docker_step import container_name
    from conveyor.operators.step import step_task

    task = step_task("monitor.actuals.ingest_actuals", "-m", "freight_volume", "-d", "2024-04-30", "--json")
    orphan = container_name(task.dag_id, task.task_id, "manual__stack")
    docker("run", "-d", "--name", orphan, "-v", f"{state_volume}:{STATE}", "--entrypoint", "sleep",
           task_image, "infinity")  # fmt: skip
    result = task.execute({"run_id": "manual__stack"})
    assert result["rows"] > 0, result
    assert docker("ps", "-aq", "--filter", f"name=^{orphan}$").stdout.split() == []
