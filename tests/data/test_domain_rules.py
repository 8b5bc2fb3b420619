"""Every categorical column of every source has a domain rule: garbage never reaches silver
to read as a new category (a data-shift retrain on garbage), while a legitimate new value
(a new region, a new topic) passes for the drift trigger to find."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest

from pipelines.config.load import expectation_suite_path, load_model_config
from pipelines.lakehouse.expectations import BatchValidator
from pipelines.lakehouse.validate import parse_batch
from pipelines.samples.corruption import batch_to_csv
from pipelines.samples.freight import NEW_REGION, FreightScenario, batches_by_logical_date
from pipelines.samples.search import SearchScenario
from pipelines.samples.search import batches_by_logical_date as search_batches

DAY = date(2024, 2, 1)
DOMAIN_RULES = {"expect_column_values_to_match_regex", "expect_column_values_to_be_in_set"}
GARBAGE = ["123", "2024-05-01", "inf", "-1.5e3"]


def categorical_columns(model: str) -> list[str]:
    """A source's text columns that name a category (free text, a model's text feature, aside)."""
    config = load_model_config(model)
    return [
        c for c, kind in config.source.schema_.items() if kind == "string" and c not in config.features.text
    ]


def validate(model: str, batch: pd.DataFrame):
    """The suite's verdict on ``batch`` as it would arrive: CSV, parsed as validate_batch does."""
    config = load_model_config(model)
    return BatchValidator(config).validate(parse_batch(batch_to_csv(batch), config), DAY)


def rules(model: str) -> dict[str, dict]:
    suite = json.loads(expectation_suite_path(load_model_config(model)).read_text())
    return {e["kwargs"]["column"]: e for e in suite["expectations"] if e["type"] in DOMAIN_RULES}


@pytest.fixture(scope="module")
def batches() -> dict[str, pd.DataFrame]:
    freight = batches_by_logical_date(
        FreightScenario(
            start=date(2024, 1, 1), days=40, routes=20, shift="new_region", shift_start=date(2024, 1, 20)
        )
    )[DAY]
    search = search_batches(SearchScenario(start=date(2024, 1, 1), days=40))[DAY]
    return {"freight_volume": freight, "search_relevance": search}


@pytest.mark.parametrize("model", ["freight_volume", "search_relevance"])
def test_every_categorical_column_has_a_domain_rule(model):
    missing = [c for c in categorical_columns(model) if c not in rules(model)]
    assert not missing, f"{model}: no closed set or pattern for {missing}"


@pytest.mark.parametrize(
    ("model", "column"),
    [(m, c) for m in ("freight_volume", "search_relevance") for c in categorical_columns(m)],
)
def test_a_value_outside_the_rule_is_refused_naming_the_column_and_the_rule(model, column, batches):
    batch = batches[model].copy()
    assert validate(model, batch).success, "the batch as generated passes"
    batch[column] = batch[column].astype(object)
    batch.loc[: len(GARBAGE) - 1, column] = GARBAGE
    verdict = validate(model, batch)
    assert not verdict.success
    rule = rules(model)[column]["kwargs"]
    named = rule.get("regex", "values not in {")
    assert any(f"column {column!r}" in p and named in p for p in verdict.problems), verdict.problems


def test_a_new_region_is_a_legitimate_new_value(batches):
    batch = batches["freight_volume"]
    assert NEW_REGION in set(batch["region"]), "the shifted batch brings the new region"
    assert validate("freight_volume", batch).success
