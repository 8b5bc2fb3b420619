"""A search space that does not fit the model type is refused when the config loads, naming
the parameter and what is allowed."""

from __future__ import annotations

import re

import pytest

from pipelines.config.load import parse_model_config
from pipelines.errors import ConfigError
from tests.unit.config.test_load import MODEL_FILE, freight_raw


def search(**space):
    return lambda raw: raw["tuning"]["search_space"].update(space)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (search(dropout={"low": 0.0, "high": 0.5}),
         r"tuning\.search_space\.dropout: torch_mlp has no parameter 'dropout'; it takes hidden_sizes, "
         r"embedding_dim, epochs"),
        (search(hidden_sizes={"low": 16, "high": 128}),
         r"tuning\.search_space\.hidden_sizes: hidden_sizes is not a number .*search it with choices"),
        (search(epochs={"low": 2.5, "high": 10}), r"epochs is an integer; give integer low, high and step"),
        (search(learning_rate={"low": 0.0, "high": 0.01}),
         r"learning_rate: 0\.0 is not a valid learning_rate: Input should be greater than 0"),
        (search(learning_rate={"low": 0.01, "high": 0.001}), r"low \(0\.01\) must be below high \(0\.001\)"),
        (search(hidden_sizes={"choices": [[64, 32], []]}),
         r"hidden_sizes: \[\] is not a valid hidden_sizes: List should have at least 1 item"),
        (search(weight_decay={"low": 0.0, "high": 0.1, "log": True}), r"a log range needs a positive low"),
        (lambda raw: raw["tuning"].update(direction="maximize"),
         r"tuning\.direction 'maximize' does not fit rmse: a better rmse is lower, so use direction: min"),
        (lambda raw: raw["tuning"].update(metric="ndcg_at_10", direction="maximize"),
         r"tuning\.metric 'ndcg_at_10' does not fit this model"),
        (lambda raw: raw["tuning"].update(pruner="hyperband"), r"tuning\.pruner: .*'median' or 'none'"),
        (lambda raw: raw["tuning"].update(search_space={}), r"tuning\.search_space: .*at least 1 item"),
    ],
)  # fmt: skip
def test_a_search_space_that_does_not_fit_the_model_type_is_refused_at_load(change, expected):
    raw = freight_raw()
    change(raw)
    with pytest.raises(ConfigError) as caught:
        parse_model_config(raw, MODEL_FILE)
    assert re.search(expected, str(caught.value)), str(caught.value)
