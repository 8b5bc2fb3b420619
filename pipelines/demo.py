"""``make demo``: the main job end to end on the embedded default, then where to look."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import fsspec
import pandas as pd

from pipelines.config import load_model_config, load_platform_config
from pipelines.data.corruption import corrupt_batch
from pipelines.errors import BatchRejectedError
from pipelines.expectations import BatchValidator
from pipelines.generate import generate_batches
from pipelines.gold import build_gold_partition
from pipelines.ingest import ingest_batch, landing_uri
from pipelines.storage import FRAME_FILE, Lakehouse, PartitionKey
from pipelines.validate import validate_batch

log = logging.getLogger("conveyor.demo")


def run_demo(model: str, start: date, days: int) -> None:
    platform = load_platform_config()
    config = load_model_config(model)
    lakehouse = Lakehouse(platform.lakehouse_uri)
    validator = BatchValidator(config)
    source = config.source.name

    logical_dates = generate_batches(platform, config, start=start, days=days)
    print(f"generated {len(logical_dates)} daily batches of {source} in {platform.landing_uri}")

    # One batch arrives corrupted first; it must be quarantined and its correction accepted.
    broken_day = logical_dates[len(logical_dates) // 2]
    broken_uri = f"{platform.landing_uri}/{source}/{broken_day.isoformat()}.broken.csv"
    with fsspec.open(landing_uri(platform, config, broken_day)) as clean:
        batch = pd.read_csv(clean)
    broken = corrupt_batch(
        batch, "negative_volume", logical_date=broken_day, max_rows=config.source.max_rows_per_batch
    )
    with fsspec.open(broken_uri, "wb") as out:
        out.write(broken)

    rejected = None
    for number, day in enumerate(logical_dates, start=1):
        if day == broken_day:
            ingest_batch(lakehouse, config, day, broken_uri)
            try:
                validate_batch(lakehouse, config, day, validator=validator)
            except BatchRejectedError as error:
                rejected = str(error)
                print(
                    f"\n{day}: a corrupted batch arrived and was rejected:\n{error}\n"
                    "  -> the corrected batch for that day follows.\n"
                )
        ingest_batch(lakehouse, config, day, landing_uri(platform, config, day))
        validate_batch(lakehouse, config, day, validator=validator)
        build_gold_partition(lakehouse, config, day)
        if number % 20 == 0 or number == len(logical_dates):
            print(f"  {number}/{len(logical_dates)} logical dates through bronze, silver and gold")

    horizon = timedelta(days=config.features.horizon_days)
    _print_summary(lakehouse, source, logical_dates, horizon, rejected is not None)


def _print_summary(
    lakehouse: Lakehouse, source: str, days: list[date], horizon: timedelta, quarantined: bool
) -> None:
    root = lakehouse.root_uri
    last = days[-1]
    print(f"\nDone. {len(days)} logical dates, {days[0]} .. {last}. Where to look:")
    print(f"  bronze       {root}/bronze/{source}/      raw batches as they arrived")
    print(f"  silver       {root}/silver/{source}/      typed, deduplicated, validated (Parquet)")
    print(f"  gold         {root}/gold/{source}/        features as of each day (Parquet)")
    print(f"  validations  {root}/validations/{source}/ GX results: validation.json, report.html")
    if quarantined:
        print(f"  quarantine   {root}/quarantine/{source}/  the rejected batch with its report")
    latest = lakehouse.uri(PartitionKey("gold", source, last), FRAME_FILE)
    print(f"  e.g. the latest features: {latest}")
    print(f"  forecast target day of that partition: {last + horizon}")
