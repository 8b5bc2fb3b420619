"""The drift check's time on large windows of served requests: 100k and 1M rows in the
prediction log, checked with the fixed-seed sample (50k rows) the monitor uses, against
the same check on every row of the window (no sampling), measured in the same run.

    python benchmarks/drift.py

Trains a champion on the demo's 120 days, then fills the prediction log (SQLite) with
copies of the gold features of the week after training, so the rows are realistic.
Results go to ``benchmarks/results/drift.json``.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from measure import Figure, Run, Stopwatch, print_ratios, ratio

AS_OF, CHECK_DAY = date(2024, 4, 30), date(2024, 5, 5)
SIZES = (100_000, 1_000_000)
SAMPLE_ROWS = 50_000


def champion(home: Path):
    os.environ["CONVEYOR_HOME"] = str(home)
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.local.backfill import process_landed_days
    from pipelines.local.cycle import run_training_cycle
    from pipelines.samples.generate import generate_batches
    from pipelines.training.tracking import mlflow_client

    platform, config = load_platform_config(), load_model_config("freight_volume")
    lakehouse = Lakehouse(platform.lakehouse_uri)
    days = generate_batches(
        platform, config, start=date(2024, 1, 1), days=(CHECK_DAY - date(2024, 1, 1)).days
    )
    process_landed_days(platform, config, lakehouse, days)
    client = mlflow_client(platform)
    run_training_cycle(platform, config, lakehouse, client, as_of=AS_OF, trigger_reason="benchmark")
    return platform, config, lakehouse, client


def fill(prediction_log, lakehouse, config, rows: int) -> None:
    """``rows`` served requests for the target days the check's window covers."""
    from pipelines.samples.traffic import gold_instances

    horizon = timedelta(days=config.features.horizon_days)
    instances = gold_instances(
        lakehouse, config, CHECK_DAY - timedelta(days=6) + horizon, CHECK_DAY + horizon
    )
    logged_at = datetime.now(UTC)
    batch = []
    for number in range(rows):
        instance = instances[number % len(instances)]
        batch.append({
            "request_id": f"bench-{number // 100}", "logged_at": logged_at, "model": config.name,
            "model_version": "1", "entity_id": f"{instance['origin']}>{instance['destination']}",
            "target_date": date.fromisoformat(instance["date"]), "features": instance["features"],
            "prediction": float(number % 97),
        })  # fmt: skip
        if len(batch) == 50_000:
            prediction_log.append(batch)
            batch = []
    prediction_log.append(batch)


def timed_check(platform, config, lakehouse, client, max_rows) -> tuple[float, dict]:
    from pipelines.monitor.drift import check_drift

    with Stopwatch() as watch:
        result = check_drift(platform, config, lakehouse, client, CHECK_DAY, max_rows=max_rows)
    return watch.seconds, result.to_dict()


def main() -> None:
    from pipelines.serving.log import PredictionLog

    run = Run("drift")
    sizes: dict[str, dict[str, object]] = {}
    figures = []
    with tempfile.TemporaryDirectory() as scratch:
        platform, config, lakehouse, client = champion(Path(scratch) / "home")
        prediction_log = PredictionLog(platform.serving.prediction_log_url)
        filled = 0
        for size in SIZES:
            with Stopwatch() as filling:
                fill(prediction_log, lakehouse, config, size - filled)
            filled = size
            sampled, summary = timed_check(platform, config, lakehouse, client, SAMPLE_ROWS)
            assert summary["details"]["source"] == "served" and summary["rows"] == SAMPLE_ROWS, summary
            full, full_summary = timed_check(platform, config, lakehouse, client, None)
            assert full_summary["rows"] == size, full_summary
            sizes[str(size)] = {
                "fill_seconds": round(filling.seconds, 1),
                "sampled_check_seconds": round(sampled, 2),
                "full_check_seconds": round(full, 2),
                "full_over_sampled": ratio(full, sampled),
                "drift_share_sampled": summary["value"],
                "drift_share_full": full_summary["value"],
            }
            figures.append(Figure(f"{size:,} rows: check seconds", full, sampled))
            shares = f"drift share {summary['value']:.2f} vs {full_summary['value']:.2f}"
            print(
                f"{size:>9} rows: sampled check {sampled:.1f} s, every row {full:.1f} s; {shares}", flush=True
            )
    print_ratios(figures, "every row", "sampled")
    run.write({"sample_rows": SAMPLE_ROWS, "sizes": sizes})


if __name__ == "__main__":
    main()
