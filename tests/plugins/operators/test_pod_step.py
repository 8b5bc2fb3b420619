"""A step's pod that exits with a bad-input code fails its task without retries, naming the
problem from the pod's termination message, as a subprocess or a container would; any
other failure stays retryable. Kubernetes' operator judges the finished pod for real here;
only its calls to a cluster (reading the namespace, labelling and deleting the pod) are
stubbed, as no cluster runs in the tests."""

from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException
from conveyor.operators.step import step_task
from kubernetes.client import models as k8s

BAD_MODEL = "error: no model called 'nope'; known models: freight_volume, search_relevance"


def finished_pod(code: int, message: str) -> k8s.V1Pod:
    terminated = k8s.V1ContainerStateTerminated(exit_code=code, message=message)
    status = k8s.V1ContainerStatus(
        name="base", image="conveyor/task", image_id="", ready=False, restart_count=0,
        state=k8s.V1ContainerState(terminated=terminated),
    )  # fmt: skip
    return k8s.V1Pod(
        metadata=k8s.V1ObjectMeta(name="ingest-batch", namespace="conveyor"),
        status=k8s.V1PodStatus(phase="Failed", container_statuses=[status]),
    )


@pytest.fixture
def pod_task(monkeypatch):
    monkeypatch.setenv("CONVEYOR_EXECUTION", "kubernetes")
    task = step_task("lakehouse.ingest.ingest_batch", "-m", "nope", "-d", "2024-01-01")
    for cluster_call in ("is_istio_enabled", "patch_already_checked", "process_pod_deletion"):
        monkeypatch.setattr(task, cluster_call, lambda *args, **kwargs: False)
    return task


def test_a_pod_that_exits_for_bad_input_fails_without_retries(pod_task):
    assert pod_task.termination_message_policy == "FallbackToLogsOnError"
    pod = finished_pod(2, f"loading config\n{BAD_MODEL}\n")
    with pytest.raises(AirflowFailException, match=r"no model called 'nope'.*exit 2: bad input, not retried"):
        pod_task.cleanup(pod, pod)


def test_a_pod_that_crashed_stays_retryable(pod_task):
    pod = finished_pod(137, "")
    with pytest.raises(AirflowException, match="returned a failure") as failure:
        pod_task.cleanup(pod, pod)
    assert not isinstance(failure.value, AirflowFailException)
