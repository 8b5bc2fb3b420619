"""The foundation end to end through the real ``conveyor`` command, as Airflow will run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from pipelines.lakehouse.storage import PartitionKey

DAY = "2024-02-10"


def conveyor(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CONVEYOR_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def landed(conveyor_home: Path) -> Path:
    done = conveyor(
        "generate",
        "--model",
        "freight_volume",
        "--start",
        "2024-01-01",
        "--days",
        "40",
        home=conveyor_home,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 40 batches (2024-01-02 .. 2024-02-10)" in done.stdout
    return conveyor_home / "landing" / "freight"


def test_every_command_has_help():
    commands = [
        "", "generate", "ingest", "validate", "gold", "backfill", "demo", "features apply",
        "features materialize", "datasets build", "datasets cleanup", "train", "evaluate", "gate",
        "register", "promote", "rollback", "lineage", "retrain-from-lineage",
    ]  # fmt: skip
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines", *command.split(), "--help"],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
        assert "Usage" in done.stdout


def test_ingest_validate_gold_and_rerun_changes_nothing(landed, conveyor_home, lakehouse):
    steps = [("ingest", "ingested"), ("validate", "validated"), ("gold", "built")]
    for step, said in steps:
        done = conveyor(step, "--model", "freight_volume", "--logical-date", DAY, home=conveyor_home)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(said), done.stdout
    before = sorted((p, p.stat().st_mtime_ns) for p in (conveyor_home / "lakehouse").rglob("*"))

    for step, said in steps:
        done = conveyor(step, "--model", "freight_volume", "--logical-date", DAY, home=conveyor_home)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"already {said}"), done.stdout
    after = sorted((p, p.stat().st_mtime_ns) for p in (conveyor_home / "lakehouse").rglob("*"))
    assert after == before

    day = pd.Timestamp(DAY).date()
    gold = lakehouse.read_frame(PartitionKey("gold", "freight", day))
    silver = lakehouse.read_frame(PartitionKey("silver", "freight", day))
    # One row per route known on that day, for the day a week ahead.
    assert set(gold["entity_id"]) == set(silver["origin"] + ">" + silver["destination"])
    assert gold["date"].eq(pd.Timestamp("2024-02-17")).all()


def test_a_conflicting_batch_is_refused_once_silver_is_published(landed, conveyor_home, tmp_path):
    for step in ("ingest", "validate"):
        assert conveyor(step, "-m", "freight_volume", "-d", DAY, home=conveyor_home).returncode == 0
    changed = tmp_path / "changed.csv"
    changed.write_text((landed / f"{DAY}.csv").read_text().replace(",north,", ",north,1", 1))
    done = conveyor("ingest", "-m", "freight_volume", "-d", DAY, "--file", str(changed), home=conveyor_home)
    assert done.returncode == 3
    assert "is already published from batch" in done.stderr
    assert "Send a correction as a batch with a later logical date" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_rejected_batch_exits_non_zero_and_names_the_problem(landed, conveyor_home):
    done = conveyor(
        "generate",
        "-m",
        "freight_volume",
        "--start",
        "2024-01-01",
        "--days",
        "40",
        "--corrupt",
        "renamed_column",
        "--corrupt-date",
        DAY,
        home=conveyor_home,
    )
    assert done.returncode == 0, done.stderr
    assert conveyor("ingest", "-m", "freight_volume", "-d", DAY, home=conveyor_home).returncode == 0
    done = conveyor("validate", "-m", "freight_volume", "-d", DAY, home=conveyor_home)
    assert done.returncode == 5
    assert "missing ['volume'], unexpected ['Volume']" in done.stderr
    assert "quarantine/freight/logical_date=2024-02-10" in done.stderr
    done = conveyor("gold", "-m", "freight_volume", "-d", DAY, home=conveyor_home)
    assert done.returncode == 4
    assert "run `conveyor validate` first" in done.stderr


def test_bad_arguments_get_a_clear_error(conveyor_home):
    done = conveyor("ingest", "-m", "no_such_model", "-d", DAY, home=conveyor_home)
    assert done.returncode == 2 and "no model called 'no_such_model'" in done.stderr
    done = conveyor("ingest", "-m", "freight_volume", "-d", DAY, home=conveyor_home)
    assert done.returncode == 4 and "no batch at" in done.stderr and "conveyor generate" in done.stderr
    done = conveyor(
        "generate",
        "-m",
        "freight_volume",
        "--start",
        "2024-01-01",
        "--shift",
        "moon",
        "--shift-start",
        DAY,
        home=conveyor_home,
    )
    assert done.returncode == 2 and "unknown shift 'moon'" in done.stderr
    done = conveyor("lineage", "freight_volume@champion", home=conveyor_home)
    assert done.returncode == 4 and "has no version with alias 'champion'" in done.stderr
    done = conveyor("promote", "-m", "freight_volume", "--version", "1", "--force", home=conveyor_home)
    assert done.returncode == 2 and "--force needs --requested-by and --reason" in done.stderr


def test_backfill_loads_a_history_at_once_and_stops_at_a_rejected_day(landed, conveyor_home, lakehouse):
    done = conveyor(
        "backfill", "-m", "freight_volume", "--start", "2024-01-02", "--days", "12", home=conveyor_home
    )
    assert done.returncode == 0, done.stderr
    assert (
        "10/12 days: 2024-01-11" in done.stdout
        and "freight 2024-01-02 .. 2024-01-13 into gold" in done.stdout
    )
    assert len(lakehouse.logical_dates("gold", "freight")) == 12

    corrupt = ("--corrupt", "renamed_column", "--corrupt-date", "2024-01-16")
    regenerated = conveyor("generate", "-m", "freight_volume", "--start", "2024-01-01", "--days", "40",
                           *corrupt, home=conveyor_home)  # fmt: skip
    assert regenerated.returncode == 0, regenerated.stderr
    done = conveyor(
        "backfill", "-m", "freight_volume", "--start", "2024-01-14", "--days", "5", home=conveyor_home
    )
    assert done.returncode == 5 and "missing ['volume'], unexpected ['Volume']" in done.stderr, done.stderr
    days = lakehouse.logical_dates("gold", "freight")
    assert days[-1].isoformat() == "2024-01-15", "nothing after the rejected day"
