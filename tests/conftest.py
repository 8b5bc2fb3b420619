"""Shared fixtures: every test gets its own CONVEYOR_HOME, so tests never share state."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from filelock import FileLock

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.config.model import ModelConfig
from pipelines.config.platform import PlatformConfig
from pipelines.lakehouse.storage import Lakehouse

# Airflow reads its configuration when first imported: point it at a throwaway home and at
# our DAG and plugin folders before any test imports it.
_REPO = Path(__file__).resolve().parents[1]
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="airflow-home-")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(_REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(_REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
sys.path.insert(0, str(_REPO / "plugins"))

REPO_ROOT = Path(__file__).resolve().parents[1]
# The longest tests start first: under xdist, a long test picked up last decides when the
# whole run ends (the stack's life builds its images and runs for about 13 minutes).
LONGEST_FIRST = ("tests/stack/test_compose_stack.py", "tests/stack/test_demo_profile.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))
    if os.environ.get("CONVEYOR_EXTENDED_TESTS") != "1":
        skip = pytest.mark.skip(reason="extended: run by `make test-extended` (CONVEYOR_EXTENDED_TESTS=1)")
        for item in items:
            if item.get_closest_marker("extended"):
                item.add_marker(skip)


@pytest.fixture
def conveyor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "conveyor-home"
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    monkeypatch.delenv("CONVEYOR_ENV", raising=False)
    monkeypatch.delenv("CONVEYOR_CONFIG_DIR", raising=False)
    yield home


@pytest.fixture
def platform(conveyor_home: Path) -> PlatformConfig:
    return load_platform_config()


@pytest.fixture
def freight_config() -> ModelConfig:
    return load_model_config("freight_volume")


@pytest.fixture
def lakehouse(platform: PlatformConfig) -> Lakehouse:
    return Lakehouse(platform.lakehouse_uri)


PREPARED_DAYS, PREPARED_ROUTES = 120, 40


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder ``name``, made by ``build`` once per test run: under xdist the first worker
    to ask builds it (the others wait on a file lock) and every worker reads the same copy,
    so a session fixture's minutes of training are not paid once per worker. Tests copy
    what they change."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    shared = tmp_path_factory.getbasetemp().parent  # this run's folder, above each worker's
    folder, done = shared / name, shared / f"{name}.done"
    with FileLock(str(shared / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build cut short
            folder.mkdir()
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def prepared_lakehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lakehouse with 120 days of freight (the demo's data) through bronze, silver and
    gold, built once per test run; tests copy it into their own CONVEYOR_HOME (see
    ``model_home``)."""
    from pipelines.local.backfill import process_landed_days
    from pipelines.samples.generate import generate_batches

    def build(home: Path) -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CONVEYOR_HOME", str(home))
            platform = load_platform_config()
            config = load_model_config("freight_volume")
            days = generate_batches(
                platform, config, start=date(2024, 1, 1), days=PREPARED_DAYS, routes=PREPARED_ROUTES
            )
            process_landed_days(platform, config, Lakehouse(platform.lakehouse_uri), days)

    return built_once(tmp_path_factory, "prepared", build) / "lakehouse"


TRAINED_AS_OF = date(2024, 4, 30)


@pytest.fixture(scope="session")
def champion_home(prepared_lakehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home whose freight_volume champion (version 1) was trained as of April 30 on the
    prepared data, once per test run. Tests copy it; MLflow keeps absolute artifact
    paths, so copies share (and add to) its artifact folder."""
    from pipelines.local.cycle import run_training_cycle
    from pipelines.training.tracking import mlflow_client

    def build(home: Path) -> None:
        shutil.copytree(prepared_lakehouse, home / "lakehouse")
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("CONVEYOR_HOME", str(home))
            patch.delenv("CONVEYOR_ENV", raising=False)
            platform, config = load_platform_config(), load_model_config("freight_volume")
            run_training_cycle(platform, config, Lakehouse(platform.lakehouse_uri), mlflow_client(platform),
                               as_of=TRAINED_AS_OF, trigger_reason="manual")  # fmt: skip

    return built_once(tmp_path_factory, "champion", build)


@pytest.fixture
def model_home(conveyor_home: Path, prepared_lakehouse: Path) -> Path:
    """A fresh CONVEYOR_HOME holding a copy of the prepared lakehouse, and nothing else."""
    import shutil

    shutil.copytree(prepared_lakehouse, conveyor_home / "lakehouse")
    return conveyor_home


POSTGRES_SERVER = os.environ.get("CONVEYOR_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432")


@pytest.fixture
def new_database() -> Iterator[Callable[[], str]]:
    """Makes databases of their own on the machine's PostgreSQL; drops them afterwards."""
    from contextlib import ExitStack

    from tests.support import postgres_database

    with ExitStack() as made:
        yield lambda: made.enter_context(postgres_database(POSTGRES_SERVER, "conveyor_test"))


@pytest.fixture
def postgres_url(new_database: Callable[[], str]) -> str:
    return new_database()
