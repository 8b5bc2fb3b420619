"""Point-in-time retrieval of a training set by Feast's offline stores: DuckDB (Conveyor's
default, ``feast.offline_store: duckdb``) against dask (the earlier one, on Conveyor's Dask
settings), on the same gold, entity rows and machine, in one run.

    python benchmarks/historical_features.py [--days 365] [--routes 40 400] [--limit 900]

For each ``--routes`` count, builds ``--days`` days of the demo's freight data from
2024-01-01 through bronze, silver and gold in a temporary CONVEYOR_HOME (local profile), and
takes the labelled rows ``build_datasets`` would join as of the last day. Then each store in
its own subprocess, so that its peak memory (``ru_maxrss``) is its own and a store that runs
out of time or memory leaves the others be: it applies the feature repo, runs
``historical_features`` (what ``conveyor datasets build`` calls) once under the clock, and
writes the rows it returned. A store still running after ``--limit`` seconds is stopped and
reported as timed out. ``--rounds`` repeats that in alternating order (AB, BA, ...). The rows
of every store that finished must be equal (``pd.testing.assert_frame_equal``: same rows,
order, values and types) before any figure is reported. Reported per size and store: the
median seconds of the retrieval alone, the peak memory of its process (MiB), what the
retrieval added to that peak (the process held ~400 MiB of imports, registry and entity rows
before it), and the ratios dask / DuckDB.

Left out: Feast's PostgreSQL offline store (it needs a PostgreSQL server holding gold) and its
Spark store (it needs pyspark, which must not share the test environment: with it installed,
importing great_expectations ends pytest). Both were measured in an earlier session, not by
this script. Results go to ``benchmarks/results/historical_features.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from measure import Figure, Stopwatch, alternating, peak_rss_mib, print_ratios, ratio

START = date(2024, 1, 1)
STORES = ("duckdb", "dask")


def prepare(home: Path, days: int, routes: int, rows_path: Path) -> int:
    """Fresh data in ``home``; the labelled entity rows written to ``rows_path``; their count."""
    os.environ["CONVEYOR_HOME"] = str(home)
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.features.datasets import label_rows
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.local.backfill import process_landed_days
    from pipelines.samples.generate import generate_batches

    platform, config = load_platform_config(), load_model_config("freight_volume")
    lakehouse = Lakehouse(platform.lakehouse_uri)
    landed = generate_batches(platform, config, start=START, days=days, routes=routes)
    process_landed_days(platform, config, lakehouse, landed)
    rows = label_rows(lakehouse, config, START + timedelta(days=days - 1))
    rows.to_parquet(rows_path, index=False)
    return len(rows)


def worker(store_name: str, home: Path, rows_path: Path, out: Path) -> None:
    """In its own process: one store's retrieval; prints its figures as JSON."""
    os.environ["CONVEYOR_HOME"] = str(home)
    import pandas as pd

    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.features.store import apply_features, feature_store, historical_features
    from pipelines.lakehouse.storage import Lakehouse

    platform, config = load_platform_config(), load_model_config("freight_volume")
    feast = platform.feast.model_copy(update={"offline_store": store_name})
    platform = platform.model_copy(update={"feast": feast})
    store = feature_store(platform)
    apply_features(store, config, Lakehouse(platform.lakehouse_uri))
    rows = pd.read_parquet(rows_path)
    before = peak_rss_mib()
    with Stopwatch() as watch:
        joined = historical_features(store, config, rows)
    peak = peak_rss_mib()
    joined.to_parquet(out, index=False)
    figures = {"seconds": watch.seconds, "peak_mib": peak, "before_mib": before, "rows": len(joined)}
    print(json.dumps(figures))


def run_store(store_name: str, home: Path, rows_path: Path, out: Path, limit: float) -> dict[str, Any]:
    """One store's retrieval in a subprocess: its figures, or ``{"timed_out": limit}``."""
    command = [sys.executable, __file__, "--worker", store_name, str(home), str(rows_path), str(out)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return {"timed_out": limit}
    if done.returncode != 0:
        raise RuntimeError(f"{store_name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def measure(days: int, routes: int, rounds: int, limit: float) -> tuple[dict[str, Any], list[Figure]]:
    """One size's results, and its figures of dask next to DuckDB's."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as scratch:
        home, rows_path = Path(scratch) / "home", Path(scratch) / "rows.parquet"
        ready = Stopwatch()
        entity_rows = prepare(home, days, routes, rows_path)
        print(f"{routes} routes x {days} days: {entity_rows:,} entity rows ready in {ready.elapsed():.0f} s")
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in STORES}
        frames: dict[str, pd.DataFrame] = {}
        for number, order in alternating(list(STORES), rounds):
            for name in order:
                if any("timed_out" in run for run in runs[name]):
                    continue
                out = Path(scratch) / f"{name}.parquet"
                figures = run_store(name, home, rows_path, out, limit)
                runs[name].append(figures)
                if "timed_out" not in figures:
                    frames.setdefault(name, pd.read_parquet(out))
                print(f"  round {number + 1}/{rounds} {name:7} {_shown(figures)}", flush=True)
    finished = list(frames)
    for name in finished[1:]:  # every store that finished returned the same rows
        pd.testing.assert_frame_equal(frames[name], frames[finished[0]], obj=f"{name} vs {finished[0]}")
    stores = {name: _summary(runs[name], limit) for name in STORES}
    result: dict[str, Any] = {
        "days": days,
        "routes": routes,
        "entity_rows": entity_rows,
        "rows_with_features": len(frames[finished[0]]) if finished else None,
        "identical_rows": finished,
        "stores": stores,
    }
    figures = []
    if all("seconds" in stores[name] for name in STORES):
        duck, dask = stores["duckdb"], stores["dask"]
        result["dask_over_duckdb"] = {
            "seconds": ratio(dask["seconds"], duck["seconds"]),
            "peak_mib": ratio(dask["peak_mib"], duck["peak_mib"]),
            "retrieval_mib": ratio(dask["retrieval_mib"], max(duck["retrieval_mib"], 1)),
        }
        figures = [
            Figure(f"{routes} routes, {entity_rows:,} rows: s", dask["seconds"], duck["seconds"]),
            Figure(f"{routes} routes, {entity_rows:,} rows: peak MiB", dask["peak_mib"], duck["peak_mib"]),
            Figure(
                f"{routes} routes, {entity_rows:,} rows: retrieval MiB",
                dask["retrieval_mib"],
                max(duck["retrieval_mib"], 1),
            ),
        ]
    return result, figures


def _shown(figures: dict[str, Any]) -> str:
    if "timed_out" in figures:
        return "timed out"
    return f"{figures['seconds']:8.2f} s {figures['peak_mib']:8.0f} MiB"


def _summary(runs: list[dict[str, Any]], limit: float) -> dict[str, Any]:
    """A store's rounds: the median seconds, the most memory; or that it timed out."""
    import statistics

    done = [run for run in runs if "timed_out" not in run]
    if not done:
        return {"timed_out_after_s": limit}
    return {
        "seconds": round(statistics.median(run["seconds"] for run in done), 2),
        "all_seconds": [round(run["seconds"], 2) for run in done],
        "peak_mib": round(max(run["peak_mib"] for run in done)),
        "before_retrieval_mib": round(max(run["before_mib"] for run in done)),
        # What the retrieval added to the process's peak (imports, registry and rows before).
        "retrieval_mib": round(max(run["peak_mib"] - run["before_mib"] for run in done)),
    }


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        worker(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
        return
    from measure import Run

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--routes", type=int, nargs="+", default=[40, 400])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--limit", type=float, default=900.0, help="seconds a store may take per retrieval")
    args = parser.parse_args()
    run = Run("historical_features", versions=("feast", "duckdb", "ibis-framework", "dask", "pandas"))
    run.warn_if_busy()
    measured = [measure(args.days, routes, args.rounds, args.limit) for routes in args.routes]
    figures = [figure for _, sized in measured for figure in sized]
    if figures:
        print_ratios(figures, "dask", "DuckDB")
    run.write({"sizes": [size for size, _ in measured]})


if __name__ == "__main__":
    main()
