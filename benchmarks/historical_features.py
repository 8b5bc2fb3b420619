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
import os
import tempfile
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from measure import Figure, Repeats, Run, Stopwatch, print_ratios, ratio

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

    with dask.config.set(settings), Stopwatch() as watch:
        joined = historical_features(store, config, rows)
    return watch.seconds, joined.sort_values([EVENT_TIMESTAMP, ENTITY_ID], ignore_index=True)


def measure(days: int, routes: int, rounds: int) -> tuple[dict[str, Any], Figure]:
    """One size's results, and its medians side by side."""
    from pipelines.features.store import DASK_SETTINGS

    settings = {"dask_defaults": DASK_DEFAULTS, "conveyor": DASK_SETTINGS}
    with tempfile.TemporaryDirectory() as scratch:
        ready = Stopwatch()
        store, config, rows = prepared_store(Path(scratch) / "home", days, routes)
        print(f"{routes} routes x {days} days: data ready in {ready.elapsed():.0f} s", flush=True)
        first: dict[str, Any] = {}

        def retrieval(name: str) -> tuple[float, None]:
            """Times one retrieval with ``name``'s settings; the rows must equal the first's."""
            seconds, joined = timed_retrieval(store, config, rows, settings[name])
            assert joined.equals(first.setdefault("rows", joined)), f"{name} returned different rows"
            return seconds, None

        repeats = Repeats({name: partial(retrieval, name) for name in settings}, rounds)
        repeats.warm_up()  # also the first equality checks
        repeats.run()
    medians = {name: repeats.median(name) for name in settings}
    result = {
        "days": days,
        "routes": routes,
        "entity_rows": len(rows),
        "rows_with_features": int(first["rows"].dropna(subset=config.features.numeric[:1]).shape[0]),
        "seconds": {name: repeats.summary(name) for name in settings},
        "defaults_over_conveyor": ratio(medians["dask_defaults"], medians["conveyor"]),
    }
    label = f"{routes} routes, {len(rows):,} entity rows: median s"
    return result, Figure(label, medians["dask_defaults"], medians["conveyor"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--routes", type=int, nargs="+", default=[40, 400])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run = Run("historical_features", versions=("feast", "dask", "pandas"))
    measured = [measure(args.days, routes, args.rounds) for routes in args.routes]
    print_ratios([figure for _, figure in measured], "Dask defaults", "Conveyor")
    run.write({"sizes": [size for size, _ in measured]})


if __name__ == "__main__":
    main()
