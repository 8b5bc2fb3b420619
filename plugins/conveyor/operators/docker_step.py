"""A step in a container of the task image (``CONVEYOR_EXECUTION=docker``): Docker's own
operator, with the step's result as the task's XCom and its exit code judged as in a
subprocess, so bad input fails without retries here too.

Each task instance names its container. A try whose worker died leaves its container
running, with nothing left to stop it; the next try removes that container before it
starts its own, so two tries of one step never run at once (two trainings writing one
checkpoint folder, say)."""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from airflow.providers.docker.exceptions import DockerContainerFailedException
from airflow.providers.docker.operators.docker import DockerOperator
from docker.errors import APIError, NotFound

from conveyor.operators.step import parse_result, step_failure

if TYPE_CHECKING:
    from airflow.sdk import Context

NO_GPU_DRIVER = "could not select device driver"


def container_name(dag_id: str, task_id: str, run_id: str, map_index: int = -1) -> str:
    """The container of one task instance, the same for each of its tries."""
    digest = hashlib.sha1(f"{dag_id}\n{run_id}\n{map_index}".encode()).hexdigest()[:12]
    return f"conveyor-{task_id}-{digest}"


class ConveyorDockerOperator(DockerOperator):
    """Runs ``conveyor <command>`` in the task image (its entrypoint is ``conveyor``)."""

    def execute(self, context: Context) -> Any:
        ti = context.get("ti")
        self.container_name = container_name(
            getattr(ti, "dag_id", self.dag_id),
            self.task_id,
            str(context["run_id"]),
            getattr(ti, "map_index", -1),
        )
        self._remove_earlier_try()
        try:
            return self._run_step(context)
        except APIError as error:
            if not self.device_requests or NO_GPU_DRIVER not in str(error):
                raise
            # The engine has no GPU driver: the step trains on the CPU, as on a laptop.
            self.log.warning("no GPU on this Docker engine (%s): %s runs on the CPU", error, self.task_id)
            self.device_requests = None
            return self._run_step(context)

    def _remove_earlier_try(self) -> None:
        try:
            self.cli.remove_container(self.container_name, force=True)
        except NotFound:
            return
        self.log.warning(
            "removed container %s of an earlier try (its worker died while it ran)",
            self.container_name,
        )

    def _run_step(self, context: Context) -> Any:
        try:
            lines = super().execute(context)
        except DockerContainerFailedException as failure:
            # Docker's operator has removed the container by now; its message holds the code.
            code = re.search(r"'StatusCode': (\d+)", str(failure))
            output = [line.decode() if isinstance(line, bytes) else str(line) for line in failure.logs or []]
            command = self.command if isinstance(self.command, list) else str(self.command).split()
            raise step_failure(command, int(code.group(1)) if code else 1, output) from failure
        return parse_result("\n".join(map(str, lines or [])))
