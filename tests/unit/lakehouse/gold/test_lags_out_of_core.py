"""Gold for ``features.kind: lags`` is computed out of core, by DuckDB on silver's Parquet
files; the pandas ``compute_features`` is the reference it must equal exactly: same rows,
same dtypes, same ``frame_hash``. The lakehouse here has what the rules are about: days
restated in later batches, a future-dated row, rows reported after the as-of date, routes
without enough history for their lags, and a route whose region changes."""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from pipelines.config.model import ModelConfig
from pipelines.lakehouse.gold import build_gold, compute_features, history_files, lookback_start, read_history
from pipelines.lakehouse.gold.lags import features_out_of_core
from pipelines.lakehouse.storage import (
    FRAME_FILE,
    Lakehouse,
    PartitionKey,
    frame_hash,
    frame_to_parquet,
    pieces_to_parquet,
)
from pipelines.lakehouse.validate import to_silver

FIRST, LAST = date(2024, 2, 1), date(2024, 4, 4)  # the silver partitions' logical dates
AS_OF = date(2024, 3, 31)


def _reports() -> pd.DataFrame:
    """Rows (service day, route, region, volume) with the day each was reported."""
    rng = np.random.default_rng(7)
    rows = []
    routes = [(f"NOR-{i:02d}", f"SOU-{j:02d}") for i in range(4) for j in range(3)]
    for number, (origin, destination) in enumerate(routes):
        # Routes 0-7 have the whole history; 8-9 start late (no lags); 10-11 stop early.
        first = FIRST if number < 8 or number > 9 else date(2024, 3, 22)
        last = LAST if number < 10 else date(2024, 3, 12)
        for offset in range((last - first).days + 1):
            day = first + timedelta(days=offset)
            region = "north" if number != 3 or day < date(2024, 3, 26) else "east"  # region moves
            delay = int(rng.integers(0, 4))
            rows.append((day, origin, destination, region, int(rng.integers(0, 500)), day + timedelta(delay)))
    frame = pd.DataFrame(rows, columns=["date", "origin", "destination", "region", "volume", "reported"])
    restated = frame.sample(n=60, random_state=3).copy()  # restated 1 to 9 days later
    restated["reported"] = [
        r + timedelta(days=int(d))
        for r, d in zip(restated["reported"], rng.integers(1, 10, size=60), strict=True)
    ]
    restated["volume"] = restated["volume"] + 1000
    restated.loc[restated.index[:5], "region"] = "restated"  # the latest report's region wins
    # A route written by hand: its March 24 restated in time (seen) and again after the as-of
    # date (not seen), its latest day (March 29) restated with another region, and a row
    # claiming a day after the as-of date, reported before it (never seen).
    west = [(day, "WES-01", "EAS-01", "west", day.day, day + timedelta(days=1)) for day in _days(20)]
    west += [
        (date(2024, 3, 24), "WES-01", "EAS-01", "west", 7_777, date(2024, 3, 30)),
        (date(2024, 3, 24), "WES-01", "EAS-01", "west", 8_888, date(2024, 4, 2)),
        (date(2024, 3, 29), "WES-01", "EAS-01", "restated", 29, AS_OF),
        (date(2024, 4, 5), "WES-01", "EAS-01", "future", 9_999, date(2024, 3, 30)),
    ]
    return pd.concat([frame, restated, pd.DataFrame(west, columns=frame.columns)], ignore_index=True)


def _days(first_of_february: int) -> list[date]:
    """Service days from February ``first_of_february`` to March 29."""
    first = date(2024, 2, first_of_february)
    return [first + timedelta(days=n) for n in range((date(2024, 3, 29) - first).days + 1)]


def _publish(lakehouse: Lakehouse, config: ModelConfig) -> None:
    reports = _reports()
    for logical_date, batch in reports.groupby("reported"):
        if FIRST <= logical_date <= LAST:
            typed = batch.drop(columns="reported").astype({"date": "datetime64[ns]"})
            silver = to_silver(typed, config)
            lakehouse.publish(
                PartitionKey("silver", config.source.name, logical_date),
                {FRAME_FILE: frame_to_parquet(silver)},
                content_hash=frame_hash(silver),
                rows=len(silver),
            )


@pytest.fixture
def silver(lakehouse: Lakehouse, freight_config: ModelConfig) -> Lakehouse:
    _publish(lakehouse, freight_config)
    return lakehouse


@pytest.mark.parametrize("piece_rows", [100_000, 4])
@pytest.mark.parametrize("as_of", [AS_OF, date(2024, 3, 20), date(2024, 3, 24)])
def test_out_of_core_gold_equals_the_pandas_reference(silver, freight_config, tmp_path, as_of, piece_rows):
    start = lookback_start(as_of, freight_config)
    history = read_history(silver, freight_config, start, as_of)
    reference = compute_features(history, as_of, freight_config)
    files = history_files(silver, freight_config, start, as_of)
    with features_out_of_core(files, as_of, freight_config, tmp_path, piece_rows=piece_rows) as (
        pieces,
        history_rows,
    ):
        cut = list(pieces)
    assert [len(piece) for piece in cut[:-1]] == [piece_rows] * (len(cut) - 1)
    gold = pd.concat(cut, ignore_index=True)
    pd.testing.assert_frame_equal(gold, reference, check_exact=True)
    assert frame_hash(gold) == frame_hash(reference)
    assert history_rows == len(history)


def test_gold_written_in_pieces_reads_back_as_the_whole_frame_and_hashes_alike(
    silver, freight_config, tmp_path
):
    start = lookback_start(AS_OF, freight_config)
    reference = compute_features(read_history(silver, freight_config, start, AS_OF), AS_OF, freight_config)
    files = history_files(silver, freight_config, start, AS_OF)
    with features_out_of_core(files, AS_OF, freight_config, tmp_path / "spill", piece_rows=3) as (pieces, _):
        written, content_hash, rows = pieces_to_parquet(pieces, tmp_path / "gold.parquet")
    assert (content_hash, rows) == (frame_hash(reference), len(reference))
    stored = pd.read_parquet(io.BytesIO(frame_to_parquet(reference)))
    pd.testing.assert_frame_equal(pd.read_parquet(written.uri), stored, check_exact=True)


def test_a_day_with_no_route_known_yet_is_an_empty_gold_with_every_column(silver, freight_config, tmp_path):
    """Only a future-dated row reported by the as-of date: no route has a known day."""
    as_of = date(2024, 4, 1)
    future = silver.read_frame(PartitionKey("silver", freight_config.source.name, date(2024, 3, 30)))
    future = future[future["date"] > pd.Timestamp(as_of)]
    assert len(future) == 1, "the fixture's future-dated row"
    path = tmp_path / "future.parquet"
    path.write_bytes(frame_to_parquet(future))
    with features_out_of_core({as_of: str(path)}, as_of, freight_config, tmp_path / "spill") as (
        pieces,
        rows,
    ):
        written, _, count = pieces_to_parquet(pieces, tmp_path / "gold.parquet")
    assert (rows, count) == (1, 0)
    whole = compute_features(
        read_history(silver, freight_config, AS_OF - timedelta(40), AS_OF), AS_OF, freight_config
    )
    assert list(pd.read_parquet(written.uri).columns) == list(whole.columns)


def test_build_gold_publishes_what_the_pandas_reference_computes(silver, freight_config):
    published = build_gold(silver, freight_config, AS_OF)
    start = lookback_start(AS_OF, freight_config)
    history = read_history(silver, freight_config, start, AS_OF)
    reference = compute_features(history, AS_OF, freight_config)
    key = PartitionKey("gold", freight_config.source.name, AS_OF)
    assert published.content_hash == frame_hash(reference)
    stored = pd.read_parquet(io.BytesIO(frame_to_parquet(reference)))
    pd.testing.assert_frame_equal(silver.read_frame(key), stored, check_exact=True)
    manifest = silver.manifest(key)
    assert manifest is not None and manifest.inputs["history_rows"] == str(len(history))
    # The rules the comparison is about did apply.
    west = reference.set_index("entity_id").loc["WES-01>EAS-01"]
    assert west["volume_lag_14d"] == 7_777  # restated in time; the later restatement unseen
    assert west["region"] == "restated"  # from the latest report of the latest day
    assert west["volume_mean_7d"] == 27  # March 25 to 29, not the future day
    assert west["volume_mean_28d"] == pytest.approx((sum(range(4, 30)) - 24 + 7_777) / 26)
    assert reference["volume_lag_28d"].isna().any()  # routes without the history for a lag
    assert reference.set_index("entity_id").loc["NOR-00>SOU-00", "region"] == "north"
    assert reference["volume_mean_7d"].isna().any()  # routes that stopped reporting
