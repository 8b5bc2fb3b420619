"""The Models view's data, from a real (SQLite) MLflow registry and a reports folder."""

from __future__ import annotations

import pytest

from pipelines.release.registry import move_champion
from pipelines.release.rollback import rollback_champion
from pipelines.training.tracking import mlflow_client
from pipelines.ui.models import model_view
from tests.unit.ui.fake_registry import MODEL, add_version, write_check


@pytest.fixture
def client(platform):
    return mlflow_client(platform)


def test_a_model_with_nothing_yet_shows_empty_sections(platform, freight_config, client):
    view = model_view(platform, freight_config, client)

    assert (view["champion"], view["challenger"], view["versions"], view["champion_history"]) == (
        None,
        None,
        [],
        [],
    )
    assert view["monitoring"] == {
        "performance": {"latest": None, "history": []},
        "drift": {"latest": None, "history": []},
    }
    assert view["dags"]["train"] == "freight_volume__train"
    assert view["dags"]["rollback"] == "freight_volume__rollback"


def test_champion_challenger_and_the_history_of_champion_changes(platform, freight_config, client):
    first = add_version(client, platform, rmse=13.5, promote=True)
    move_champion(client, platform, MODEL, first, expected_champion=None)
    second = add_version(client, platform, rmse=12.0, promote=True, reason="data shift",
                         dag_run_id="data_shift__2024-05-12")  # fmt: skip
    move_champion(client, platform, MODEL, second, expected_champion=first)
    rollback_champion(client, platform, MODEL, first)
    third = add_version(client, platform, rmse=16.0, promote=False, reason="performance")

    view = model_view(platform, freight_config, client)

    champion, challenger = view["champion"], view["challenger"]
    assert (champion["version"], challenger["version"]) == (first, third)
    assert champion["metrics"] == {"rmse": 13.5, "mae": pytest.approx(9.45)}, "test metrics only"
    assert champion["gate"]["promote"] == "true" and champion["gate"]["kind"] == "first_deploy"
    assert (challenger["gate"]["promote"], challenger["gate"]["summary"]) == (
        "false",
        "failed: beats_champion",
    )
    assert challenger["trigger_reason"] == "performance"
    assert [v["version"] for v in view["versions"]] == ["1", "2", "3"]
    assert view["versions"][1]["dag_run_id"] == "data_shift__2024-05-12"
    assert view["versions"][1]["aliases"] == [] and view["versions"][2]["aliases"] == ["challenger"]
    moves = [(m["action"], m["previous"], m["version"]) for m in view["champion_history"]]
    assert moves == [("promote", None, "1"), ("promote", "1", "2"), ("rollback", "2", "1")]
    assert all(m["at"] for m in view["champion_history"])


def test_a_repeated_promotion_records_no_second_move(platform, client):
    version = add_version(client, platform, rmse=13.5, promote=True)
    move_champion(client, platform, MODEL, version, expected_champion=None)
    move_champion(client, platform, MODEL, version, expected_champion=None)  # a retried task
    rollback_champion(client, platform, MODEL, version)

    from pipelines.ui.versions import champion_history

    assert [m["action"] for m in champion_history(platform, MODEL)] == ["promote"]


def test_monitoring_history_by_day_with_the_latest_and_its_report(platform, freight_config, client):
    write_check(platform, "performance", "2024-05-12", 14.4)
    write_check(platform, "performance", "2024-05-10", None)
    write_check(platform, "performance", "2024-05-19", 33.1)
    write_check(platform, "drift", "2024-05-12", 0.56)
    write_check(platform, "drift", "2024-05-05", 0.0, html=False)
    (platform.home / "reports" / MODEL / "gate-abc.json").write_text("{}")  # not a check

    monitoring = model_view(platform, freight_config, client)["monitoring"]

    performance, drift = monitoring["performance"], monitoring["drift"]
    assert [(p["as_of"], p["value"], p["breached"]) for p in performance["history"]] == [
        ("2024-05-10", None, False), ("2024-05-12", 14.4, False), ("2024-05-19", 33.1, True)]  # fmt: skip
    assert performance["latest"]["as_of"] == "2024-05-19" and performance["latest"]["threshold"] == 18.0
    assert performance["latest"]["report"] == "", "performance writes no HTML report"
    assert [p["report"] for p in drift["history"]] == ["", "drift-2024-05-12.html"]
    assert drift["latest"]["drifted_columns"] == ["region"] and drift["latest"]["breached"]


def test_a_candidate_in_release_shows_its_strategy_and_the_decision_so_far(platform, freight_config, client):
    from pipelines.release.registry import end_candidate, move_candidate

    first = add_version(client, platform, rmse=13.5, promote=True)
    move_champion(client, platform, MODEL, first, expected_champion=None)
    second = add_version(client, platform, rmse=12.0, promote=True)
    move_candidate(client, platform, MODEL, second, expected_champion=first, strategy="canary", share=0.2)

    view = model_view(platform, freight_config, client)
    assert (view["champion"]["version"], view["candidate"]["version"]) == (first, second)
    assert view["candidate"]["release"] == {"strategy": "canary", "share": "0.2", "champion_version": first,
                                            "decision": "pending"}  # fmt: skip
    end_candidate(client, platform, MODEL, second, decision="rolled back", reason="worse than the champion")
    view = model_view(platform, freight_config, client)
    assert view["candidate"] is None
    assert view["versions"][1]["release"]["decision"] == "rolled back"
