from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.config.load import load_model_config, load_platform_config, parse_model_config
from pipelines.errors import ConfigError

MODEL_FILE = Path(__file__).resolve().parents[3] / "configs" / "models" / "freight_volume.yaml"


def freight_raw() -> dict[str, Any]:
    return yaml.safe_load(MODEL_FILE.read_text())


def test_freight_config_loads_with_its_fields(freight_config):
    assert freight_config.name == "freight_volume"
    assert freight_config.source.name == "freight"
    assert freight_config.entity_keys == ["origin", "destination"]
    assert freight_config.model.type == "torch_mlp"
    assert freight_config.gates.mode == "enabled"
    assert freight_config.triggers.schedule == "0 2 * * *"


def test_platform_state_lives_under_conveyor_home(conveyor_home):
    platform = load_platform_config()
    assert platform.environment == "local"
    assert platform.home == conveyor_home.resolve()
    assert platform.lakehouse_uri == f"{conveyor_home.resolve()}/lakehouse"
    assert platform.landing_uri.startswith(str(conveyor_home.resolve()))


def test_unknown_environment_is_named(conveyor_home, monkeypatch):
    monkeypatch.setenv("CONVEYOR_ENV", "staging")
    with pytest.raises(ConfigError, match="'staging' is not an environment; use one of local"):
        load_platform_config()


def test_unset_variable_in_platform_config_is_named(conveyor_home, tmp_path, monkeypatch):
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "local.yaml").write_text(
        "environment: local\nlakehouse_uri: ${LAKE_BUCKET}/lake\nlanding_uri: /tmp/landing\n"
    )
    monkeypatch.setenv("CONVEYOR_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="lakehouse_uri: environment variable LAKE_BUCKET is not set"):
        load_platform_config()


def test_the_production_profile_has_no_default_address_and_names_what_is_missing(conveyor_home, monkeypatch):
    monkeypatch.setenv("CONVEYOR_ENV", "compose")
    for name in (
        "MLFLOW_TRACKING_URI",
        "CONVEYOR_FEAST_REGISTRY_URL",
        "CONVEYOR_REDIS",
        "CONVEYOR_PREDICTION_LOG_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(
        ConfigError, match="mlflow_tracking_uri: environment variable MLFLOW_TRACKING_URI is not set"
    ):
        load_platform_config()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("CONVEYOR_FEAST_REGISTRY_URL", "postgresql+psycopg2://feast@postgres/feast")
    monkeypatch.setenv("CONVEYOR_REDIS", "redis:6379")
    with pytest.raises(ConfigError, match="environment variable CONVEYOR_PREDICTION_LOG_URL is not set"):
        load_platform_config()
    monkeypatch.setenv("CONVEYOR_PREDICTION_LOG_URL", "postgresql+psycopg2://serving@postgres/predictions")
    monkeypatch.delenv("CONVEYOR_SERVING_TOKEN", raising=False)
    platform = load_platform_config()  # what tasks need: they do not serve
    assert platform.environment == "compose" and platform.feast.online_store.type == "redis"
    from pipelines.serving.app import service

    with pytest.raises(
        ConfigError, match=r"serving\.api_token is empty: the compose profile serves only with a"
    ):
        service(platform, load_model_config("freight_volume"))


def test_the_search_model_is_a_ranking_model_on_pair_features():
    config = load_model_config("search_relevance")
    assert config.features.kind == "pair_stats" and config.features.text == ["query", "document"]
    assert config.ranking is not None and config.ranking.query_key == "query_id"
    assert config.model.type == "cross_encoder" and config.gates.metric == "ndcg_at_10"


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(
        ConfigError, match=r"no model called 'fright'.*known models: freight_volume, search_relevance"
    ):
        load_model_config("fright")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda r: r["gates"].update(mode="on"),
            r"gates\.mode: .*'disabled', 'dry_run' or 'enabled'",
        ),
        (
            lambda r: r["model"].update(type="xgboost"),
            r"model\.type: .*unknown model type 'xgboost'",
        ),
        (lambda r: r["model"].update(seed=-1), r"model\.seed: .*greater than or equal to 0"),
        (lambda r: r["model"].pop("seed"), r"model\.seed: Field required"),
        (
            lambda r: r["gates"].update(treshold=3),
            r"gates\.treshold: unknown field; allowed here: bootstrap_samples, business_threshold",
        ),
        (lambda r: r.update(entity_keys=["route"]), r"entity_keys names \['route'\]"),
        (
            lambda r: r["triggers"]["drift"].update(on_breach="page"),
            r"triggers\.drift\.on_breach: .*'retrain' or 'notify'",
        ),
        (lambda r: r["features"].update(lags_days=[7, 14]), r"lags_days \[7\] are not longer than"),
        (
            lambda r: r["features"].pop("kind"),
            r"features\.kind: say which kind of features .*'lags', 'pair_stats'",
        ),
        (lambda r: r["features"].update(kind="embeddings"), r"features\.kind: .* \(got 'embeddings'\)"),
        (lambda r: r["features"].update(lag=[1]), r"features\.lag: unknown field; allowed here: .*lags_days"),
        (
            lambda r: r["gates"].update(metric="ndcg_at_10"),
            r"gates\.metric 'ndcg_at_10' does not fit .*ranking section",
        ),
        (lambda r: r["triggers"].update(schedule="every night"), r"'every night' is not a cron"),
        (
            lambda r: r["triggers"]["drift"].update(text_confidence=95),
            r"triggers\.drift\.text_confidence: .*less than 1",
        ),
        (lambda r: r.update(target="region"), r"target 'region' must be numeric"),
        (
            lambda r: r["source"].update(expectation_suite="x.json"),
            r"expectation_suite 'x.json' not found",
        ),
    ],
)
def test_bad_config_names_file_field_and_what_is_allowed(change, expected):
    raw = freight_raw()
    change(raw)
    with pytest.raises(ConfigError) as caught:
        parse_model_config(raw, MODEL_FILE)
    message = str(caught.value)
    assert str(MODEL_FILE) in message
    assert re.search(expected, message), message


def test_name_must_match_file_name():
    raw = freight_raw()
    raw["name"] = "other_model"
    with pytest.raises(ConfigError, match="must match the file name 'freight_volume'"):
        parse_model_config(raw, MODEL_FILE)


def test_malformed_yaml_is_reported(tmp_path, monkeypatch):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "broken.yaml").write_text("name: [unclosed\n")
    monkeypatch.setenv("CONVEYOR_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML"):
        load_model_config("broken")
