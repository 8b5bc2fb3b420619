"""`generate_batches` and `conveyor generate`: each source to its own generator, landed as CSV."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.config.load import load_model_config
from pipelines.errors import ConfigError
from pipelines.samples import freight, search
from pipelines.samples.generate import generate_batches

START = date(2024, 1, 1)


@pytest.fixture
def search_config():
    return load_model_config("search_relevance")


def landed(platform, source: str) -> dict[date, pd.DataFrame]:
    folder = platform.home / "landing" / source
    return {date.fromisoformat(path.stem): pd.read_csv(path) for path in sorted(folder.glob("*.csv"))}


def test_freight_lands_what_its_generator_makes(platform, freight_config):
    written = generate_batches(platform, freight_config, start=START, days=10, routes=6, seed=2)
    expected = freight.batches_by_logical_date(
        freight.FreightScenario(start=START, days=10, routes=6, seed=2)
    )
    assert written == sorted(expected)
    for day, batch in landed(platform, "freight").items():
        pd.testing.assert_frame_equal(batch, expected[day], check_dtype=False)


def test_search_lands_what_its_generator_makes(platform, search_config):
    written = generate_batches(
        platform, search_config, start=START, days=5, queries=20, queries_per_day=4, seed=1,
        shift="language_mix", shift_start=date(2024, 1, 3),
    )  # fmt: skip
    scenario = search.SearchScenario(
        start=START, days=5, queries=20, queries_per_day=4, seed=1, shift="language_mix",
        shift_start=date(2024, 1, 3),
    )  # fmt: skip
    expected = search.batches_by_logical_date(scenario)
    assert written == sorted(expected) == [date(2024, 1, d) for d in range(2, 7)]
    for day, batch in landed(platform, "search").items():
        assert list(batch.columns) == search.BATCH_COLUMNS
        pd.testing.assert_frame_equal(batch, expected[day], check_dtype=False)


def test_a_corrupted_search_batch_lands_on_its_date(platform, search_config):
    generate_batches(
        platform, search_config, start=START, days=3, queries=10, queries_per_day=2,
        corrupt="negative_target", corrupt_date=date(2024, 1, 3),
    )  # fmt: skip
    batches = landed(platform, "search")
    assert (batches[date(2024, 1, 3)]["relevance"] < 0).any()
    assert (batches[date(2024, 1, 2)]["relevance"] >= 0).all()


@pytest.mark.parametrize(
    ("model", "arguments", "problem"),
    [
        ("search_relevance", {"shift": "new_region", "shift_start": START},
         "unknown shift 'new_region' for source 'search'; use one of new_topics, language_mix"),
        ("freight_volume", {"shift": "language_mix", "shift_start": START},
         "unknown shift 'language_mix' for source 'freight'; use one of new_region, scale, new_stations"),
        ("search_relevance", {"routes": 5}, "--routes does not size source 'search'; its sizes: --queries"),
        ("freight_volume", {"queries_per_day": 5}, "--queries-per-day does not size source 'freight'"),
        ("search_relevance", {"queries": 10}, "queries_per_day \\(40\\) exceeds the pool \\(10\\)"),
        ("search_relevance", {"corrupt": "negative_volume", "corrupt_date": START},
         "unknown corruption 'negative_volume'; use one of nulls, negative_target"),
    ],
)  # fmt: skip
def test_what_does_not_fit_the_source_is_a_config_error(platform, model, arguments, problem):
    with pytest.raises(ConfigError, match=problem):
        generate_batches(platform, load_model_config(model), start=START, days=3, **arguments)


def test_a_source_without_a_generator_is_named(platform, freight_config):
    source = freight_config.source.model_copy(update={"name": "weather"})
    config = freight_config.model_copy(update={"source": source})
    with pytest.raises(ConfigError, match="no sample data generator for source 'weather'; sources with one"):
        generate_batches(platform, config, start=START, days=3)


def test_the_command_sizes_search_by_queries(platform):
    from pipelines.cli import app

    done = CliRunner().invoke(
        app,
        ["generate", "-m", "search_relevance", "--start", "2024-01-01", "--days", "4",
         "--queries", "12", "--queries-per-day", "3", "--shift", "new_topics", "--shift-start", "2024-01-03"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "wrote 4 batches (2024-01-02 .. 2024-01-05)" in done.output
    rows = pd.concat(landed(platform, "search").values())
    assert rows.groupby("date")["query_id"].nunique().tolist() == [3, 3, 4, 4]
