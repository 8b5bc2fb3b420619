"""A release decided by live results, from generated data: a better candidate released as
a canary is promoted once its actuals arrive, a worse one is rolled back, and the
lineage of each says why."""

from __future__ import annotations

import time
from datetime import date

from fastapi.testclient import TestClient

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.lakehouse.storage import Lakehouse
from pipelines.local.cycle import run_training_cycle
from pipelines.monitor.actuals import ingest_actuals
from pipelines.monitor.release import judge_candidate
from pipelines.release.registry import CANDIDATE, CHAMPION, alias_version, read_lineage
from pipelines.samples.traffic import gold_instances, send
from pipelines.serving.app import service
from pipelines.serving.log import PredictionLog
from pipelines.training.tracking import mlflow_client

TRAINED_AS_OF, JUDGED_AS_OF = date(2024, 4, 1), date(2024, 4, 29)
# Barely moved from its initial weights: worse than a trained model on every slice.
UNDERTRAINED = {"epochs": 1, "learning_rate": 1e-5}


def released_config():
    config = load_model_config("freight_volume")
    return config.model_copy(
        update={
            # dry run: the gate reports, the live results decide (a worse model meets traffic)
            "gates": config.gates.model_copy(update={"mode": "dry_run"}),
            "release": config.release.model_copy(
                update={"strategy": "canary", "share": 0.5, "min_samples": 100, "baking_days": 3}
            ),
        }
    )


def serve_traffic(platform, config, lakehouse, candidate: str) -> None:
    """The service answers target days Apr 10 .. 28 for every route, the candidate on half."""
    with TestClient(service(platform, config, online=False)) as http:
        deadline = time.monotonic() + 60
        while http.get("/ready").json().get("candidate", {}).get("version") != candidate:
            assert time.monotonic() < deadline, http.get("/ready").json()
            time.sleep(0.2)
        answers = send(http, gold_instances(lakehouse, config, date(2024, 4, 10), date(2024, 4, 28)), 100)
    versions = {p["version"] for answer in answers for p in answer["predictions"]}
    assert candidate in versions and len(versions) == 2


def test_live_results_promote_a_better_canary_and_roll_back_a_worse_one(model_home):
    platform, config = load_platform_config(), released_config()
    lakehouse, client = Lakehouse(platform.lakehouse_uri), mlflow_client(platform)
    log = PredictionLog(platform.serving.prediction_log_url)

    def cycle(overrides=None):
        return run_training_cycle(platform, config, lakehouse, client, as_of=TRAINED_AS_OF,
                                  trigger_reason="manual", overrides=overrides).version  # fmt: skip

    weak = cycle(UNDERTRAINED)
    assert alias_version(client, config.name, CHAMPION) == weak, "a first deploy is direct"
    better = cycle()
    assert alias_version(client, config.name, CANDIDATE) == better
    assert alias_version(client, config.name, CHAMPION) == weak, "a canary does not take over"
    waiting = judge_candidate(platform, config, client, JUDGED_AS_OF, prediction_log=log)
    assert (waiting.outcome, waiting.units) == ("wait", 0)

    serve_traffic(platform, config, lakehouse, better)
    ingest_actuals(log, lakehouse, config, JUDGED_AS_OF)
    promoted = judge_candidate(platform, config, client, JUDGED_AS_OF, prediction_log=log)
    assert promoted.outcome == "promote", promoted.reason
    assert promoted.units >= 100 and promoted.comparison["low"] > 0
    assert alias_version(client, config.name, CHAMPION) == better
    assert alias_version(client, config.name, CANDIDATE) is None
    lineage = read_lineage(client, f"{config.name}@{better}")
    assert lineage["release"]["decision"] == "promoted"
    assert lineage["release"]["reason"].startswith("canary passed: better than the champion")

    worse = cycle(UNDERTRAINED)
    assert alias_version(client, config.name, CANDIDATE) == worse
    serve_traffic(platform, config, lakehouse, worse)
    rolled = judge_candidate(platform, config, client, JUDGED_AS_OF, prediction_log=log)
    assert rolled.outcome == "roll back", rolled.reason
    assert alias_version(client, config.name, CHAMPION) == better, "the champion is untouched"
    assert alias_version(client, config.name, CANDIDATE) is None, "traffic goes back to the champion"
    lineage = read_lineage(client, f"{config.name}@{worse}")
    assert (lineage["release"]["decision"], lineage["release"]["reason"][:26]) == (
        "rolled back",
        "worse than the champion: r",
    )
    assert (platform.home / "reports" / config.name / f"release-{worse}-{JUDGED_AS_OF}.json").exists()
