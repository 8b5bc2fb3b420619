"""What a person does in the Airflow UI, as Playwright steps: log in, open a DAG's trigger
form, fill its fields, trigger. Selectors are the UI's own ids and test ids (Airflow 3.3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import FrameLocator, Page


def log_in(page: Page, url: str, user: str, password: str) -> None:
    page.goto(url)
    page.wait_for_url("**/auth/login**")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/")
    page.get_by_role("link", name="Dags").first.wait_for()


def open_models_view(page: Page, url: str) -> FrameLocator:
    """The Models view (plugins/conveyor/views) as the UI shows it: in a frame under /plugin/models."""
    page.goto(f"{url}/plugin/models")
    view = page.frame_locator("iframe")
    view.get_by_role("heading", name="Models").wait_for()
    return view


def champion_shown(view: FrameLocator, model: str) -> str:
    return view.locator(f"section#{model}").get_by_text("Champion:").inner_text()


def follow_from_models_view(page: Page, view: FrameLocator, model: str, link: str, dag_id: str) -> None:
    """Click a model's Retrain or Roll back: the whole window goes to the DAG's page."""
    view.locator(f"section#{model}").get_by_role("link", name=link).click()
    page.wait_for_url(f"**/dags/{dag_id}")


def open_trigger_form(page: Page) -> None:
    """On a DAG's page: its Trigger button opens the form of its params."""
    page.get_by_test_id("trigger-dag-button").click()
    page.get_by_role("dialog").get_by_text("Run Parameters").wait_for()


def fill_text(page: Page, name: str, value: str) -> None:
    page.fill(f"#element_{name}", value)


def fill_json(page: Page, name: str, value: dict[str, Any]) -> None:
    """An object field is a code editor that closes brackets as one types: paste, not type."""
    page.locator(f"#element_{name} .monaco-editor").click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(json.dumps(value))


def switch_on(page: Page, name: str) -> None:
    switch = page.locator(f"input[name=element_{name}]")
    if not switch.is_checked():
        page.locator(f"label:has(input[name=element_{name}])").click()


def choose(page: Page, title: str, option: str) -> None:
    """A field with an enum is a select: open it by its title, pick the option by its label."""
    page.get_by_role("dialog").get_by_role("combobox", name=title).click()
    page.get_by_role("option", name=option, exact=True).click()


def trigger(page: Page) -> None:
    submit = page.get_by_test_id("trigger-dag-submit")
    submit.wait_for()
    assert submit.is_enabled(), "the form refused its values"
    submit.click()
    page.get_by_role("dialog").wait_for(state="detached")


def screenshot(page: Page, path: Path) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(path), full_page=True)
