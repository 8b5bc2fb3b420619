"""A step in a container of the task image (``CONVEYOR_EXECUTION=docker``): Docker's own
operator, with the step's result as the task's XCom and its exit code judged as in a
subprocess, so bad input fails without retries here too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.docker.exceptions import DockerContainerFailedException
from airflow.providers.docker.operators.docker import DockerOperator

from conveyor.operators.step import parse_result, step_failure

if TYPE_CHECKING:
    from airflow.sdk import Context


class ConveyorDockerOperator(DockerOperator):
    """Runs ``conveyor <command>`` in the task image (its entrypoint is ``conveyor``)."""

    def execute(self, context: Context) -> Any:
        try:
            last_line = super().execute(context)
        except DockerContainerFailedException as failure:
            # A failed container is kept (auto_remove="success"), so its exit code can be read.
            state = self.cli.inspect_container(self.container["Id"])["State"]
            output = [line.decode() if isinstance(line, bytes) else str(line) for line in failure.logs or []]
            command = self.command if isinstance(self.command, list) else str(self.command).split()
            raise step_failure(command, int(state["ExitCode"]), output) from failure
        return parse_result(last_line if isinstance(last_line, str) else "")
