"""Point-in-time retrieval of a training set from Feast's dask offline store: Conveyor's
Dask settings (``pipelines.features.store.DASK_SETTINGS``: tasks in the calling thread, shuffles
in memory) against Dask's defaults (a thread pool, shuffles through files on disk), on the
same store, entity rows and machine, in one run.

    python benchmarks/historical_features.py [--days 120] [--routes 40 400] [--rounds 3]

For each ``--routes`` count, builds ``--days`` days of the demo's freight data from
2024-01-01 through bronze, silver and gold in a temporary CONVEYOR_HOME (local profile),
applies the feature repo, and takes the labelled rows ``build_datasets`` would join as of
the last day. Then ``historical_features`` (what ``conveyor datasets build`` calls) runs
``--rounds`` times under each setting, in alternating order (AB, BA, ...), after one
untimed warm-up of each. Every result must equal the first (same rows, same values)
before any time is reported. Reported per size: the best and median seconds of each
setting and the ratio defaults / Conveyor (above 1: Conveyor's settings are faster).
Results go to ``benchmarks/results/historical_features.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "historical_features.json"
START = date(2024, 1, 1)
# Dask's own defaults outside a distributed cluster, named explicitly so that a Dask whose
# defaults change still measures the same baseline.
DASK_DEFAULTS = {"scheduler": "threads", "dataframe.shuffle.method": "disk"}


def prepared_store(home: Path, days: int, routes: int) -> tuple[Any, Any, Any]:
    """The store, the model config and the labelled entity rows, on fresh data in ``home``."""
    os.environ["CONVEYOR_HOME"] = str(home)
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.features.datasets import label_rows
    from pipelines.features.store import apply_features, feature_store
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.local.backfill import process_landed_days
    from pipelines.samples.generate import generate_batches

    platform, config = load_platform_config(), load_model_config("freight_volume")
    lakehouse = Lakehouse(platform.lakehouse_uri)
    landed = generate_batches(platform, config, start=START, days=days, routes=routes)
    process_landed_days(platform, config, lakehouse, landed)
    store = feature_store(platform)
    apply_features(store, config, lakehouse)
    return store, config, label_rows(lakehouse, config, START + timedelta(days=days - 1))


def timed_retrieval(store: Any, config: Any, rows: Any, settings: dict[str, str]) -> tuple[float, Any]:
    import dask

    from pipelines.features.store import ENTITY_ID, EVENT_TIMESTAMP, historical_features

    with dask.config.set(settings):
        started = time.perf_counter()
        joined = historical_features(store, config, rows)
        seconds = time.perf_counter() - started
    return seconds, joined.sort_values([EVENT_TIMESTAMP, ENTITY_ID], ignore_index=True)


def measure(days: int, routes: int, rounds: int) -> dict[str, Any]:
    from pipelines.features.store import DASK_SETTINGS

    settings = {"dask_defaults": DASK_DEFAULTS, "conveyor": DASK_SETTINGS}
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        store, config, rows = prepared_store(Path(scratch) / "home", days, routes)
        ready = time.perf_counter() - started
        print(f"{routes} routes x {days} days: data ready in {ready:.0f} s", flush=True)
        reference = None
        for name, setting in settings.items():  # warm-up; also the first equality checks
            _, joined = timed_retrieval(store, config, rows, setting)
            reference = joined if reference is None else reference
            assert joined.equals(reference), f"{name} returned different rows"
        seconds: dict[str, list[float]] = {name: [] for name in settings}
        for number in range(rounds):
            order = list(settings) if number % 2 == 0 else list(reversed(settings))
            for name in order:
                elapsed, joined = timed_retrieval(store, config, rows, settings[name])
                assert joined.equals(reference), f"{name} returned different rows in round {number}"
                seconds[name].append(elapsed)
                print(f"  round {number + 1} {name:14} {elapsed:6.2f} s", flush=True)
    baseline, ours = statistics.median(seconds["dask_defaults"]), statistics.median(seconds["conveyor"])
    return {
        "days": days,
        "routes": routes,
        "entity_rows": len(rows),
        "rows_with_features": int(reference.dropna(subset=config.features.numeric[:1]).shape[0]),
        "seconds": {name: summary(times) for name, times in seconds.items()},
        "defaults_over_conveyor": round(baseline / ours, 2),
    }


def summary(times: list[float]) -> dict[str, Any]:
    return {
        "best": round(min(times), 2),
        "median": round(statistics.median(times), 2),
        "all": [round(t, 2) for t in times],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--routes", type=int, nargs="+", default=[40, 400])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "cpu_count": os.cpu_count(),
        "versions": {package: version(package) for package in ("feast", "dask", "pandas")},
        "sizes": [measure(args.days, routes, args.rounds) for routes in args.routes],
    }
    for size in results["sizes"]:
        print(f"{size['routes']} routes, {size['entity_rows']} entity rows: defaults / Conveyor "
              f"{size['defaults_over_conveyor']}x")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {RESULTS}")


if __name__ == "__main__":
    main()
