"""The train and rollback trigger forms: every field explained, and a wrong value refused
with a message (Airflow validates a run's conf against each Param's JSON schema)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.sdk import Param
from airflow.sdk.exceptions import ParamValidationError
from conveyor.forms import rollback_params, train_params

from pipelines.config.load import load_model_config
from pipelines.release.registry import versions_file


def check(param: Param, value: object) -> object:
    return Param(value, **param.schema).resolve()


@pytest.fixture
def freight(conveyor_home: Path):
    return load_model_config("freight_volume")


@pytest.mark.parametrize("kind", [train_params, rollback_params])
def test_every_field_has_a_title_a_description_and_a_type(freight, kind):
    for name, param in kind(freight).items():
        assert {"title", "type"} <= set(param.schema), name
        assert len(param.description or "") > 20, name


def test_the_retrain_form_refuses_unknown_or_out_of_range_hyperparameters(freight):
    overrides = train_params(freight)["overrides"]
    assert check(overrides, {"epochs": 2, "learning_rate": 0.01}) == {"epochs": 2, "learning_rate": 0.01}
    with pytest.raises(ParamValidationError, match="'epoch' was unexpected"):
        check(overrides, {"epoch": 2})
    with pytest.raises(ParamValidationError, match="less than or equal to the minimum of 0"):
        check(overrides, {"epochs": 0})
    with pytest.raises(ParamValidationError, match="is not of type 'integer'"):
        check(overrides, {"epochs": "twelve"})
    with pytest.raises(ParamValidationError, match="is not of type 'object'"):
        check(overrides, "epochs=12")


def test_the_retrain_form_wants_a_reason_and_a_yes_or_no_to_force(freight):
    params = train_params(freight)
    with pytest.raises(ParamValidationError, match=r"too short|should be non-empty"):
        check(params["reason"], "")
    with pytest.raises(ParamValidationError, match="is not of type 'boolean'"):
        check(params["force_promote"], "yes")


def test_before_any_registration_the_rollback_form_takes_any_version_number(freight):
    version = rollback_params(freight)["version"]
    assert "enum" not in version.schema
    assert check(version, "12") == "12"
    with pytest.raises(ParamValidationError, match="does not match"):
        check(version, "v12")


def test_the_rollback_form_offers_the_registered_versions_and_names_the_champion(freight, conveyor_home):
    listed = versions_file(conveyor_home, "freight_volume")
    listed.parent.mkdir(parents=True)
    listed.write_text(json.dumps({"versions": ["1", "2", "3"], "champion": "3"}))

    version = rollback_params(freight)["version"]
    assert version.schema["enum"] == ["1", "2", "3"]
    assert version.schema["values_display"]["3"] == "3 (champion)"
    assert check(version, "1") == "1"
    with pytest.raises(ParamValidationError, match="is not one of"):
        check(version, "4")


def test_a_broken_versions_file_falls_back_to_any_version_number(freight, conveyor_home):
    listed = versions_file(conveyor_home, "freight_volume")
    listed.parent.mkdir(parents=True)
    listed.write_text("{not json")
    assert "enum" not in rollback_params(freight)["version"].schema
