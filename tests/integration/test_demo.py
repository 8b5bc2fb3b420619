"""`make demo` end to end: the story a new user sees, through Airflow."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from pipelines.config.load import load_platform_config
from pipelines.lakehouse.storage import PartitionKey
from pipelines.local.airflow import airflow_environment, run_dag
from pipelines.local.demo import run_demo
from pipelines.release.registry import read_lineage
from pipelines.training.tracking import mlflow_client


def test_demo_tells_the_whole_story_and_says_where_to_look(conveyor_home: Path, lakehouse, capsys):
    run_demo("freight_volume", date(2024, 1, 1), days=120)
    printed = capsys.readouterr().out

    assert "a corrupted batch arrived and was rejected" in printed
    for layer in ("bronze", "silver", "gold", "validations", "quarantine"):
        assert f"{conveyor_home / 'lakehouse' / layer / 'freight'}/" in printed
    latest = lakehouse.uri(PartitionKey("gold", "freight", date(2024, 4, 30)), "data.parquet")
    assert latest in printed and Path(latest).is_file()

    # Through Airflow: the first training, a shifted batch, the monitor, the retrain it starts.
    assert "freight_volume__train 2024-04-30: success" in printed
    assert "freight_volume__ingest 2024-05-12: success" in printed
    # The service answers a week of traffic, one request by entity key from the online store.
    assert "requests for target days 2024-05-01 .. 2024-05-19 answered and logged" in printed
    assert '"features_from": "online"' in printed
    assert "freight_volume__monitor 2024-05-12: success" in printed
    assert re.search(r"performance: \d+\.\d+ against 18.0 over [1-9]\d* served rows", printed), printed
    assert "queued freight_volume__train run data_shift__2024-05-12 with {'reason': 'data shift'}" in printed
    assert "freight_volume__train 2024-05-12: success" in printed

    client = mlflow_client(load_platform_config())
    retrained = read_lineage(client, "freight_volume@2")
    assert retrained["version"] == "2" and retrained["lineage"]["trigger_reason"] == "data shift"
    assert f"version 2 (trigger: data shift): gate {retrained['gate']['summary']}" in printed

    # Three weeks on, a training that has seen the new region passes its gates and is released
    # as the config says: a canary on a quarter of the routes; the live results decide.
    assert "freight_volume__train 2024-06-02: success" in printed
    assert "version 3: gate all checks passed" in printed
    assert "released as a canary on 25% of the routes beside champion 1" in printed
    answered = re.search(r"answered by version: 1: (\d+), 3: (\d+)", printed)
    assert answered, printed
    by_champion, by_candidate = map(int, answered.groups())
    assert 0.1 < by_candidate / (by_champion + by_candidate) < 0.4, "about a quarter of the routes"
    assert "freight_volume__monitor 2024-06-11: success" in printed
    judged = re.search(r"judge_candidate: (promote|roll back) version 3: (.+)", printed)
    assert judged, "a week of canary traffic with its actuals is enough to decide"
    outcome, reason = judged.groups()
    release = client.get_model_version("freight_volume", "3").tags
    assert release["conveyor.release.decision"] == ("promoted" if outcome == "promote" else "rolled back")
    champion = read_lineage(client, "freight_volume@champion")
    assert champion["version"] == ("3" if outcome == "promote" else "1")
    candidate_card = conveyor_home / "reports" / "freight_volume" / "cards" / "freight_volume-v3.md"
    assert f"its model card, with the live results: {candidate_card}" in printed
    live = candidate_card.read_text().split("## Live results", 1)[1]
    assert "Released as canary beside version 1" in live and reason[:60] in live

    assert f"Model: freight_volume version {champion['version']} is champion" in printed
    card = (
        conveyor_home / "reports" / "freight_volume" / "cards" / f"freight_volume-v{champion['version']}.md"
    )
    assert f"model card: {card} (and .html beside it)" in printed and card.is_file()
    drift_report = conveyor_home / "reports" / "freight_volume" / "drift-2024-05-12.html"
    assert str(drift_report) in printed and drift_report.is_file()

    # Roll back through the rollback DAG: the champion moves, and moves back.
    env = airflow_environment(conveyor_home, conveyor_home / "airflow")
    assert run_dag(env, "freight_volume__rollback", "2024-05-13", {"version": "2"})["state"].endswith(
        "success"
    )
    assert read_lineage(client, "freight_volume@champion")["version"] == "2"
    assert run_dag(env, "freight_volume__rollback", "2024-05-14", {"version": "1"})["state"].endswith(
        "success"
    )
    assert read_lineage(client, "freight_volume@champion")["version"] == "1"
