"""``make demo``: the main job end to end on the embedded default, then where to look."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING

import fsspec
import pandas as pd

from pipelines.backfill import process_landed_days
from pipelines.config import load_model_config, load_platform_config
from pipelines.cycle import CycleResult, run_training_cycle
from pipelines.data.corruption import corrupt_batch
from pipelines.errors import BatchRejectedError
from pipelines.expectations import BatchValidator
from pipelines.generate import generate_batches
from pipelines.ingest import ingest_batch, landing_uri
from pipelines.registry import lineage, mlflow_client
from pipelines.storage import FRAME_FILE, Lakehouse, PartitionKey
from pipelines.validate import validate_batch

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config import ModelConfig, PlatformConfig

log = logging.getLogger("conveyor.demo")


def run_demo(model: str, start: date, days: int) -> None:
    platform = load_platform_config()
    config = load_model_config(model)
    lakehouse = Lakehouse(platform.lakehouse_uri)
    logical_dates = load_data(platform, config, lakehouse, start, days)
    _print_data_summary(lakehouse, config, logical_dates)

    steps = "features, datasets, train, evaluate, gate, register, promote"
    print(f"\nTraining {config.name} as of {logical_dates[-1]} ({steps})")
    client = mlflow_client(platform)
    result = run_training_cycle(
        platform, config, lakehouse, client, as_of=logical_dates[-1], trigger_reason="manual (make demo)"
    )
    _print_model_summary(platform, client, config, result)


def load_data(
    platform: PlatformConfig, config: ModelConfig, lakehouse: Lakehouse, start: date, days: int
) -> list[date]:
    """Land ``days`` of batches and take them through bronze, silver and gold; one batch
    arrives corrupted first, is quarantined, and its correction follows."""
    validator = BatchValidator(config)
    source = config.source.name
    logical_dates = generate_batches(platform, config, start=start, days=days)
    print(f"generated {len(logical_dates)} daily batches of {source} in {platform.landing_uri}")

    broken_day = logical_dates[len(logical_dates) // 2]
    broken_uri = f"{platform.landing_uri}/{source}/{broken_day.isoformat()}.broken.csv"
    with fsspec.open(landing_uri(platform, config, broken_day)) as clean:
        batch = pd.read_csv(clean)
    with fsspec.open(broken_uri, "wb") as out:
        out.write(
            corrupt_batch(
                batch, "negative_volume", logical_date=broken_day, max_rows=config.source.max_rows_per_batch
            )
        )

    def progress(number: int, day: date) -> None:
        if number % 20 == 0 or number == len(logical_dates):
            print(f"  {number}/{len(logical_dates)} logical dates through bronze, silver and gold")

    before = [d for d in logical_dates if d < broken_day]
    process_landed_days(platform, config, lakehouse, before, validator=validator, progress=progress)
    ingest_batch(lakehouse, config, broken_day, broken_uri)
    try:
        validate_batch(lakehouse, config, broken_day, validator=validator)
    except BatchRejectedError as error:
        print(
            f"\n{broken_day}: a corrupted batch arrived and was rejected:\n{error}\n"
            "  -> the corrected batch for that day follows.\n"
        )
    rest = [d for d in logical_dates if d >= broken_day]
    process_landed_days(
        platform,
        config,
        lakehouse,
        rest,
        validator=validator,
        progress=lambda number, day: progress(number + len(before), day),
    )
    return logical_dates


def _print_data_summary(lakehouse: Lakehouse, config: ModelConfig, days: list[date]) -> None:
    root, source, last = lakehouse.root_uri, config.source.name, days[-1]
    print(f"\nData: {len(days)} logical dates, {days[0]} .. {last}. Where to look:")
    print(f"  bronze       {root}/bronze/{source}/      raw batches as they arrived")
    print(f"  silver       {root}/silver/{source}/      typed, deduplicated, validated (Parquet)")
    print(f"  gold         {root}/gold/{source}/        features as of each day (Parquet)")
    print(f"  validations  {root}/validations/{source}/ GX results: validation.json, report.html")
    if lakehouse.logical_dates("quarantine", source):
        print(f"  quarantine   {root}/quarantine/{source}/  rejected batches with their reports")
    latest = lakehouse.uri(PartitionKey("gold", source, last), FRAME_FILE)
    horizon = timedelta(days=config.features.horizon_days)
    print(f"  e.g. the latest features, for {last + horizon}: {latest}")


def _print_model_summary(
    platform: PlatformConfig, client: MlflowClient, config: ModelConfig, result: CycleResult
) -> None:
    record = lineage(client, f"{config.name}@{result.version}")
    metrics = ", ".join(f"{k} {v:.2f}" for k, v in result.metrics.items() if k != "rows")
    state = "champion" if result.promotion else "registered, not promoted"
    print(f"\nModel: {config.name} version {result.version} is {state}")
    print(
        f"  test metrics   {metrics} ({int(result.metrics['rows'])} rows, last {config.split.test_days} days)"
    )
    print(f"  gate           {result.decision.kind}, mode {result.decision.mode}: {result.decision.summary}")
    for check in result.decision.checks:
        print(f"                 {'ok' if check.passed else 'FAILED'}: {check.detail}")
    print("  lineage")
    for key, value in record["lineage"].items():
        print(f"    {key:28} {value}")
    print(f"\n  MLflow: {platform.mlflow_tracking_uri} (experiment {config.name}, run {result.run_id})")
    print(f"  see it all again: conveyor lineage {config.name}@champion")
