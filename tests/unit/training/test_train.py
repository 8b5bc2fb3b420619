"""A try that lost the tracking database mid-logging leaves its MLflow run RUNNING; the
retry of the same training closes it, and touches no other training's run."""

from __future__ import annotations

from pipelines.training.lineage import TAG
from pipelines.training.tracking import experiment_id, mlflow_client
from pipelines.training.train import close_abandoned_runs


def test_the_retry_marks_its_abandoned_try_failed_and_nothing_else(platform):
    client = mlflow_client(platform)
    experiment = experiment_id(client, platform, "freight_volume")
    abandoned = client.create_run(experiment, tags={f"{TAG}run_key": "this-training"}).info.run_id
    other = client.create_run(experiment, tags={f"{TAG}run_key": "another-training"}).info.run_id
    finished = client.create_run(experiment, tags={f"{TAG}run_key": "this-training"}).info.run_id
    client.set_terminated(finished, status="FINISHED")

    close_abandoned_runs(client, experiment, "this-training")

    status = {run: client.get_run(run).info.status for run in (abandoned, other, finished)}
    assert status == {abandoned: "FAILED", other: "RUNNING", finished: "FINISHED"}
