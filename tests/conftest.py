"""Shared fixtures: every test gets its own CONVEYOR_HOME, so tests never share state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.config import ModelConfig, PlatformConfig, load_model_config, load_platform_config
from pipelines.storage import Lakehouse

REPO_ROOT = Path(__file__).resolve().parents[1]


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
