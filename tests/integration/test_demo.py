from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.demo import run_demo
from pipelines.storage import PartitionKey


def test_demo_runs_end_to_end_and_says_where_to_look(conveyor_home: Path, lakehouse, capsys):
    run_demo("freight_volume", date(2024, 1, 1), days=40)
    printed = capsys.readouterr().out

    assert "a corrupted batch arrived and was rejected" in printed
    for layer in ("bronze", "silver", "gold", "validations", "quarantine"):
        folder = conveyor_home / "lakehouse" / layer / "freight"
        assert f"{folder}/" in printed
        assert folder.is_dir()
    days = lakehouse.logical_dates("gold", "freight")
    assert len(days) == 40 and days[-1] == date(2024, 2, 10)
    latest = lakehouse.uri(PartitionKey("gold", "freight", days[-1]), "data.parquet")
    assert latest in printed and Path(latest).is_file()

    assert "Model: freight_volume version 1 is" in printed
    assert "gate           first_deploy, mode enabled" in printed
    for field in ("git_commit", "config_hash", "train_dataset_digest", "trigger_reason"):
        assert f"    {field}" in printed
    assert "manual (make demo)" in printed
