"""A step in a pod of the task image (``CONVEYOR_EXECUTION=kubernetes``): Kubernetes' own
operator, with the step's exit code judged as in a subprocess, so bad input fails the task
without retries here too. The pod's termination message falls back to the end of its log
on failure, which holds the step's ``error:`` line: the task's failure names the problem."""

from __future__ import annotations

from typing import Any

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.sdk.exceptions import AirflowException
from kubernetes.client import models as k8s

from conveyor.operators.step import NON_RETRYABLE_EXIT_CODES, step_failure


def exit_code(pod: k8s.V1Pod | None, container: str) -> int | None:
    """The exit code of ``container`` in ``pod``, once it has terminated."""
    statuses = (pod.status.container_statuses if pod is not None and pod.status else None) or []
    status = next((s for s in statuses if s.name == container), None)
    terminated = status.state.terminated if status is not None and status.state else None
    return terminated.exit_code if terminated is not None else None


class ConveyorPodOperator(KubernetesPodOperator):
    """Runs ``conveyor <arguments>`` in the task image."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("termination_message_policy", "FallbackToLogsOnError")
        super().__init__(**kwargs)

    def cleanup(self, pod: k8s.V1Pod, remote_pod: k8s.V1Pod, *args: Any, **kwargs: Any) -> None:
        try:
            super().cleanup(pod, remote_pod, *args, **kwargs)
        except AirflowException as failure:
            code = exit_code(remote_pod, self.base_container_name)
            if code not in NON_RETRYABLE_EXIT_CODES:
                raise
            raise step_failure(list(self.arguments), code, str(failure).splitlines()) from failure
