"""Promotion is a compare-and-set across hosts: two workers on two hosts (two homes, so two
file-lock folders) promote different versions against the same registry at once. With the
platform's lock database (a PostgreSQL advisory lock, as the compose profile sets), one
wins and the other exits 6 changing nothing; with only file locks, both would move the
champion (the case this test builds, and sees, too)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.config.load import load_platform_config
from pipelines.release.registry import CHAMPION, alias_version, register_version
from pipelines.training.tracking import mlflow_client

MODEL = "freight_volume"

# One worker: reads the champion, waits (the window in which another host reads the same),
# then moves it, as move_champion does between its read and its write.
WORKER = """
import json, sys, time
from pipelines.config.platform import PlatformConfig
from pipelines.errors import PromotionConflictError
from pipelines.release import registry
from pipelines.training.tracking import mlflow_client

platform = PlatformConfig.model_validate_json(sys.argv[1])
read = registry.alias_version
def slow_read(client, model, alias):
    found = read(client, model, alias)
    if alias == registry.CHAMPION:
        time.sleep(3)
    return found
registry.alias_version = slow_read
try:
    client = mlflow_client(platform)
    registry.move_champion(client, platform, "freight_volume", sys.argv[2], expected_champion=None)
except PromotionConflictError as error:
    print(error)
    sys.exit(error.exit_code)
"""


def race(platform, tmp_path: Path, lock_url: str | None) -> tuple[list[int], list[dict]]:
    """Two workers, each with a home of its own, promote versions 1 and 2 at once."""
    workers = []
    for version in ("1", "2"):
        host = platform.model_copy(update={"home": tmp_path / f"host-{version}", "release_lock_url": lock_url,
                                           "reports_uri": str(tmp_path / "reports")})  # fmt: skip
        command = [sys.executable, "-c", WORKER, host.model_dump_json(), version]
        workers.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    codes = [worker.wait(timeout=120) for worker in workers]
    history = tmp_path / "reports" / MODEL / "champion-history.jsonl"
    return codes, [json.loads(line) for line in history.read_text().splitlines()]


@pytest.fixture
def registry_with_two_versions(conveyor_home, tmp_path):
    platform = load_platform_config()
    client = mlflow_client(platform)
    for version in ("1", "2"):
        source = tmp_path / f"model-{version}"
        source.mkdir()
        run_id = client.create_run(client.create_experiment(source.name)).info.run_id
        register_version(client, platform, MODEL, str(source), run_id, {})
    return platform, client


def test_with_the_lock_database_one_promotion_wins_and_the_other_exits_6(
    registry_with_two_versions, new_database, tmp_path
):
    platform, client = registry_with_two_versions
    codes, history = race(platform, tmp_path / "locked", new_database())
    assert sorted(codes) == [0, 6], codes
    winner = "1" if codes[0] == 0 else "2"
    assert alias_version(client, MODEL, CHAMPION) == winner
    assert [(move["version"], move["previous"]) for move in history] == [(winner, None)], "one move"


def test_with_file_locks_on_two_hosts_both_would_move_the_champion(registry_with_two_versions, tmp_path):
    platform, _ = registry_with_two_versions
    codes, history = race(platform, tmp_path / "unlocked", None)
    assert codes == [0, 0] and len(history) == 2, "the race the lock database prevents"
