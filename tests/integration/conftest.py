"""Tests that run DAGs get a throwaway Airflow home on their CONVEYOR_HOME."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.airflow_local import airflow_environment


@pytest.fixture
def airflow_env(model_home: Path, tmp_path: Path) -> dict[str, str]:
    return airflow_environment(model_home, tmp_path / "airflow")
