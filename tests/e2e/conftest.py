"""Browser tests' fixtures: a home with a freight_volume champion, a real Airflow on a fresh
PostgreSQL database serving it, and a headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import POSTGRES_SERVER
from tests.e2e.airflow_stack import AirflowStack
from tests.support import postgres_database

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
# Chromium's own calls home (updates, sync, QUIC probes) are refused on a closed network.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
# Kept after the run (gitignored, but for the README's images): one screenshot per page.
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


# Package-scoped: the Airflow stack (its dag-processor re-parses every 5 s) and Chromium stop
# when the browser tests end, not when their xdist worker does, tens of minutes later.
@pytest.fixture(scope="package")
def e2e_home(champion_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the home whose freight_volume champion (version 1) was trained as of April 30."""
    home = tmp_path_factory.mktemp("e2e-home")
    shutil.copytree(champion_home, home, dirs_exist_ok=True)
    return home


@pytest.fixture(scope="package")
def airflow_database() -> Iterator[str]:
    """A database of its own on the machine's PostgreSQL, dropped after the session."""
    with postgres_database(POSTGRES_SERVER, "conveyor_e2e") as url:
        yield url


@pytest.fixture(scope="package")
def airflow(e2e_home: Path, airflow_database: str, tmp_path_factory: pytest.TempPathFactory):
    stack = AirflowStack(e2e_home, tmp_path_factory.mktemp("e2e-airflow"), airflow_database)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium with `make system`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # Tall enough that a trigger form's dialog fits whole in its screenshot.
    context = browser.new_context(viewport={"width": 1400, "height": 1700})
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
