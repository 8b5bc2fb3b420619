"""A person's way through the Airflow UI, in a real browser against a real Airflow: log in,
open the Models view, retrain freight_volume from there through its trigger form (after the
form refused a wrong value), see the run succeed and the champion change, roll back through
the rollback form, see the champion change back. One screenshot per page is kept in
tests/e2e/artifacts/.

One test, not several: the steps share one Airflow, and pytest-xdist would start one per
worker for tests split across workers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.e2e.airflow_stack import PASSWORD, PATIENCE, USER, AirflowStack
from tests.e2e.airflow_ui import (
    champion_shown,
    choose,
    fill_json,
    fill_text,
    follow_from_models_view,
    log_in,
    open_models_view,
    open_trigger_form,
    screenshot,
    switch_on,
    trigger,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

MODEL = "freight_volume"
TRAIN, ROLLBACK = f"{MODEL}__train", f"{MODEL}__rollback"


def champion(home: Path) -> str | None:
    """The champion as the registry has it (the UI's word is checked separately)."""
    from pipelines.config.load import load_platform_config
    from pipelines.release.registry import CHAMPION, alias_version
    from pipelines.training.tracking import mlflow_client

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONVEYOR_HOME", str(home))
        return alias_version(mlflow_client(load_platform_config()), MODEL, CHAMPION)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(1)


def finished_run(page: Page, airflow: AirflowStack, dag_id: str, timeout: float, shot: Path) -> dict:
    """The run the form just triggered, once it finished successfully; its page in the UI
    is shown and kept as ``shot``."""
    run = airflow.wait_for_run(dag_id, timeout=timeout)
    assert run["state"] == "success", airflow.task_states(dag_id, run["dag_run_id"])
    page.goto(f"{airflow.url}/dags/{dag_id}/runs/{run['dag_run_id']}")
    page.get_by_text("success").first.wait_for()
    screenshot(page, shot)
    return run


def test_retrain_and_roll_back_through_the_models_view_and_the_forms(
    airflow: AirflowStack, e2e_home: Path, page: Page, artifacts: Path
) -> None:
    assert champion(e2e_home) == "1"
    page.goto(airflow.url)
    page.wait_for_url("**/auth/login**")
    screenshot(page, artifacts / "login.png")
    log_in(page, airflow.url, USER, PASSWORD)
    screenshot(page, artifacts / "home.png")

    view = open_models_view(page, airflow.url)
    assert champion_shown(view, MODEL) == "Champion: version 1"
    screenshot(page, artifacts / "models-view-before.png")

    # A wrong value is refused: the UI says the trigger failed, the API says why, no run starts.
    follow_from_models_view(page, view, MODEL, "Retrain", TRAIN)
    open_trigger_form(page)
    fill_json(page, "overrides", {"epoch": 2})
    page.get_by_test_id("trigger-dag-submit").click()
    page.get_by_text("Failed to Trigger Dag").wait_for()
    screenshot(page, artifacts / "trigger-form-refused.png")
    refused = httpx.post(
        f"{airflow.url}/api/v2/dags/{TRAIN}/dagRuns",
        json={"logical_date": None, "conf": {"overrides": {"epoch": 2}}},
        headers=airflow.headers,
        timeout=PATIENCE,
    )
    assert refused.status_code == 400 and "'epoch' was unexpected" in refused.text, refused.text
    assert airflow.runs(TRAIN) == []

    # A retrain through the form; forced, so the champion changes whatever the gates think.
    page.reload()
    open_trigger_form(page)
    fill_text(page, "reason", "e2e: retrain through the form")
    fill_json(page, "overrides", {"epochs": 2})
    switch_on(page, "force_promote")
    fill_text(page, "requested_by", "e2e")
    fill_text(page, "justification", "the browser test checks that a forced promotion moves the champion")
    screenshot(page, artifacts / "trigger-form.png")
    trigger(page)
    run = finished_run(page, airflow, TRAIN, 600, artifacts / "train-run.png")
    assert run["conf"]["overrides"] == {"epochs": 2}
    assert champion(e2e_home) == "2"

    view = open_models_view(page, airflow.url)
    assert champion_shown(view, MODEL) == "Champion: version 2"
    screenshot(page, artifacts / "models-view.png")

    # The new champion's model card, linked from the view (served from the reports folder).
    card = view.locator(f"section#{MODEL}").get_by_role("link", name="version 2's card").first
    page.goto(f"{airflow.url}{card.get_attribute('href')}")
    page.get_by_role("heading", name=f"Model card: {MODEL} version 2").wait_for()
    assert page.get_by_role("heading", name="Intended use").is_visible()
    assert page.locator("svg").count() == 1, "the per-slice chart"
    screenshot(page, artifacts / "model-card.png")
    view = open_models_view(page, airflow.url)

    # The rollback form offers the registered versions, the new champion marked, once the
    # DAG processor has re-read them after the promotion (not just after the registration).
    offered = {"1": "1", "2": "2 (champion)"}
    wait_until(
        lambda: airflow.rollback_choices(ROLLBACK) == offered, 120, "the form offers 1 and 2 (champion)"
    )
    follow_from_models_view(page, view, MODEL, "Roll back", ROLLBACK)
    open_trigger_form(page)
    choose(page, "Version", "1")
    fill_text(page, "reason", "e2e: back to the first version")
    screenshot(page, artifacts / "rollback-form.png")
    trigger(page)
    finished_run(page, airflow, ROLLBACK, 300, artifacts / "rollback-run.png")
    assert champion(e2e_home) == "1"

    view = open_models_view(page, airflow.url)
    assert champion_shown(view, MODEL) == "Champion: version 1"
    screenshot(page, artifacts / "models-view-after-rollback.png")
