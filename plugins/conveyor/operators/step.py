"""A pipeline step as an Airflow task: the same ``conveyor <step> ...`` command everywhere.

``CONVEYOR_EXECUTION`` picks where it runs; the DAG does not change:

- ``local`` (default): a subprocess of the worker, in the worker's environment;
- ``docker``: the task image through ``DockerOperator`` (GPU steps get a device request,
  the state volume is mounted; Docker is reached through ``CONVEYOR_DOCKER_URL``, a
  socket proxy, never the raw socket);
- ``kubernetes``: the task image as a pod through ``KubernetesPodOperator`` (GPU steps ask
  for ``nvidia.com/gpu``; the state volume is a PVC).

A step's result (the JSON line it prints with ``--json``) becomes the task's XCom. Exit
codes of bad input (config, conflict with published data, missing input, rejected batch,
gate-blocked version) fail the task without retries: retrying cannot fix them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from conveyor.steps import step_command, step_name
from pipelines.errors import non_retryable_exit_codes

if TYPE_CHECKING:
    from airflow.sdk import Context

NON_RETRYABLE_EXIT_CODES = non_retryable_exit_codes()
STATE_DIR = "/var/lib/conveyor"
RESULT_FILE = "/airflow/xcom/return.json"  # where KubernetesPodOperator's sidecar reads XCom


def execution_mode() -> str:
    mode = os.environ.get("CONVEYOR_EXECUTION", "local")
    if mode not in ("local", "docker", "kubernetes"):
        raise ValueError(f"CONVEYOR_EXECUTION={mode!r}; use local, docker or kubernetes")
    return mode


def parse_result(output: str) -> Any:
    """The step's result: the last line of its output that is a JSON object (log lines on
    stderr may come after it), else None."""
    for line in reversed(output.strip().splitlines()):
        try:
            result = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(result, dict):
            return result
    return None


class ConveyorStepOperator(BaseOperator):
    """Runs ``python -m pipelines <arguments>`` as a subprocess, streaming its output."""

    template_fields = ("arguments",)
    ui_color = "#e8f4ea"

    def __init__(self, *, arguments: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.arguments = arguments
        self._process: subprocess.Popen[str] | None = None

    def execute(self, context: Context) -> Any:
        return run_step(self, self.arguments, str(context["run_id"]))

    def on_kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()


def run_step(task: Any, arguments: list[str], run_id: str) -> Any:
    """Run ``conveyor <arguments>`` for ``task``, stream its output to the task log, and
    return its JSON result; raise so that bad input is not retried and the rest is."""
    command = [sys.executable, "-m", "pipelines", *map(str, arguments)]
    task.log.info("running: %s", " ".join(command))
    env = {**os.environ, "AIRFLOW_CTX_DAG_RUN_ID": run_id}
    task._process = subprocess.Popen(
        command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    output = []
    assert task._process.stdout is not None
    for line in task._process.stdout:
        output.append(line)
        task.log.info("%s", line.rstrip())
    code = task._process.wait()
    if code == 0:
        return parse_result("".join(output))
    raise step_failure(arguments, code, output)


def step_failure(arguments: list[str], code: int, output: list[str]) -> Exception:
    """What a task raises for a step that exited with ``code``: its ``error:`` line, failing
    at once for bad input (retrying cannot fix it), else retried."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    errors = [line.strip() for line in output if line.startswith("error:")]
    message = errors[-1] if errors else f"`conveyor {arguments[0]}` exited with {code}"
    if code in NON_RETRYABLE_EXIT_CODES:
        return AirflowFailException(f"{message} (exit {code}: bad input, not retried)")
    return AirflowException(f"{message} (exit {code})")


# What a task container needs to reach the stack (config/platform/compose.yaml's variables).
FORWARDED = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "CONVEYOR_FEAST_REGISTRY_URL",
    "CONVEYOR_FEAST_PROJECT",
    "CONVEYOR_REDIS",
    "CONVEYOR_PREDICTION_LOG_URL",
)


# An operator class, the field its command goes in, and its settings.
OperatorChoice = tuple[type[BaseOperator], str, dict[str, Any]]


def step_task(
    step: str,
    *arguments: str,
    gpu: bool = False,
    mapped_over: list[tuple[str, ...]] | None = None,
    **kwargs: Any,
) -> Any:
    """The task that runs ``step`` (``<stage>.<module>.<function>``, see conveyor.steps) with
    ``arguments``, in the configured execution mode; its task id is the function's name.
    ``mapped_over``: a mapped task, one instance a tuple of further arguments."""
    mode = execution_mode()
    task_id, command = step_name(step), step_command(step, arguments)
    commands = [[*command, *extra] for extra in mapped_over] if mapped_over is not None else None
    if gpu:
        kwargs.setdefault("pool", "gpu")  # one slot: two trainings never share a GPU
        # Celery's workers on a GPU host listen on this queue (LocalExecutor ignores it).
        kwargs.setdefault("queue", os.environ.get("CONVEYOR_GPU_QUEUE", "gpu"))
    choice: OperatorChoice
    if mode == "local":
        choice = ConveyorStepOperator, "arguments", {}
    else:
        image = os.environ.get("CONVEYOR_TASK_IMAGE", "conveyor/task:latest")
        environment: dict[str, str] = {
            "CONVEYOR_ENV": os.environ.get("CONVEYOR_ENV", "compose"),
            "AIRFLOW_CTX_DAG_RUN_ID": "{{ run_id }}",
        }
        if mode == "docker":
            choice = _docker_operator(image, environment, gpu)
        else:
            choice = _pod_operator(task_id, image, environment, gpu)
    operator, field, settings = choice
    settings = {**settings, **kwargs}
    if commands is None:
        task: Any = operator(task_id=task_id, **{field: command, **settings})
    else:
        task = operator.partial(task_id=task_id, **settings).expand(**{field: commands})
    task.step = step  # read by tests/dags: the task's function
    return task


def _docker_operator(image: str, environment: dict[str, str], gpu: bool) -> OperatorChoice:
    from docker.types import DeviceRequest, Mount

    from conveyor.operators.docker_step import ConveyorDockerOperator

    # The image's entrypoint is `conveyor`: the command is the step's arguments.
    return ConveyorDockerOperator, "command", dict(
        image=image,
        docker_url=os.environ.get("CONVEYOR_DOCKER_URL", "tcp://docker-socket-proxy:2375"),
        environment=environment,
        # Addresses and credentials of the stack, from the worker's environment: private, so
        # neither rendered in the UI nor stored with the DAG.
        private_environment={name: os.environ[name] for name in FORWARDED if name in os.environ},
        mounts=[Mount(target=STATE_DIR, source=os.environ.get("CONVEYOR_STATE_VOLUME", "conveyor-state"))],
        device_requests=[DeviceRequest(count=1, capabilities=[["gpu"]])] if gpu else None,
        network_mode=os.environ.get("CONVEYOR_DOCKER_NETWORK", "conveyor"),
        auto_remove="success",
        mount_tmp_dir=False,
        xcom_all=True,  # every line: the step's JSON may come before a log line on stderr
    )  # fmt: skip


def _pod_operator(task_id: str, image: str, environment: dict[str, str], gpu: bool) -> OperatorChoice:
    from kubernetes.client import models as k8s

    from conveyor.operators.pod_step import ConveyorPodOperator

    claim = os.environ.get("CONVEYOR_STATE_CLAIM", "conveyor-state")
    secret = os.environ.get("CONVEYOR_TASK_SECRET", "conveyor-env")
    return ConveyorPodOperator, "arguments", dict(
        name=task_id.replace("_", "-"),
        namespace=os.environ.get("CONVEYOR_NAMESPACE", "conveyor"),
        image=image,
        cmds=["conveyor"],
        env_vars={**environment, "CONVEYOR_RESULT_FILE": RESULT_FILE},
        # Addresses and credentials from a Kubernetes Secret, never from the DAG.
        env_from=[k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=secret))],
        container_resources=k8s.V1ResourceRequirements(limits={"nvidia.com/gpu": "1"}) if gpu else None,
        volumes=[
            k8s.V1Volume(
                name="state",
                persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=claim),
            )
        ],
        volume_mounts=[k8s.V1VolumeMount(name="state", mount_path=STATE_DIR)],
        do_xcom_push=True,
        get_logs=True,
        on_finish_action="delete_succeeded_pod",
    )  # fmt: skip
