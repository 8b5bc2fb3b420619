"""Point-in-time retrieval of a training set by Feast's offline stores: DuckDB (Conveyor's
default, ``feast.offline_store: duckdb``) against dask (the earlier one, on Conveyor's Dask
settings), on the same gold, entity rows and machine, in one run.

    python benchmarks/historical_features.py [--days 365] [--routes 40 400] [--limit 900]
        [--memory-gib 12] [--stores duckdb dask]

For each ``--routes`` count, builds ``--days`` days of the demo's freight data from
2024-01-01 through bronze, silver and gold in a temporary CONVEYOR_HOME (local profile), and
takes the labelled rows ``build_datasets`` would join as of the last day. Then each store in
its own subprocess, so that its peak memory (``ru_maxrss``) is its own and a store that runs
out of time or memory leaves the others be: it applies the feature repo, runs
``historical_features`` (what ``conveyor datasets build`` calls) once under the clock, and
writes the rows it returned. A store still running after ``--limit`` seconds, or holding more
than ``--memory-gib`` GiB, is stopped and reported so. ``--rounds`` repeats that in
alternating order (AB, BA, ...); ``--stores`` measures fewer stores. The rows
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
STOPPED = {"timed_out", "memory_out"}  # a run's keys when it was stopped before it finished


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


def run_store(
    store_name: str, home: Path, rows_path: Path, out: Path, limit: float, memory_gib: float
) -> dict[str, Any]:
    """One store's retrieval in a subprocess: its figures, or ``{"timed_out": limit}``, or
    ``{"memory_out": memory_gib}`` when its resident memory passed ``memory_gib`` (dask at
    4,000 routes would take the machine's memory; it is stopped there instead)."""
    import time

    import psutil

    command = [sys.executable, __file__, "--worker", store_name, str(home), str(rows_path), str(out)]
    deadline, ceiling = time.monotonic() + limit, memory_gib * 2**30
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        watched = psutil.Process(child.pid)
        stopped: dict[str, float] = {}
        while child.poll() is None:
            try:
                resident = watched.memory_info().rss
            except psutil.NoSuchProcess:
                break
            if resident > ceiling:
                stopped = {"memory_out": memory_gib}
            elif time.monotonic() > deadline:
                stopped = {"timed_out": limit}
            if stopped:
                child.kill()
                child.wait()
                return stopped
            time.sleep(0.2)
        stdout, stderr = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"{store_name} failed ({child.returncode}):\n{stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return figures


def measure(
    days: int, routes: int, rounds: int, limit: float, memory_gib: float, stores: list[str]
) -> tuple[dict[str, Any], list[Figure]]:
    """One size's results, and its figures of dask next to DuckDB's."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as scratch:
        home, rows_path = Path(scratch) / "home", Path(scratch) / "rows.parquet"
        ready = Stopwatch()
        entity_rows = prepare(home, days, routes, rows_path)
        print(f"{routes} routes x {days} days: {entity_rows:,} entity rows ready in {ready.elapsed():.0f} s")
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in stores}
        frames: dict[str, pd.DataFrame] = {}
        for number, order in alternating(stores, rounds):
            for name in order:
                if any(STOPPED & set(run) for run in runs[name]):
                    continue
                out = Path(scratch) / f"{name}.parquet"
                outcome = run_store(name, home, rows_path, out, limit, memory_gib)
                runs[name].append(outcome)
                if not STOPPED & set(outcome):
                    frames.setdefault(name, pd.read_parquet(out))
                print(f"  round {number + 1}/{rounds} {name:7} {_shown(outcome)}", flush=True)
    finished = list(frames)
    for name in finished[1:]:  # every store that finished returned the same rows
        pd.testing.assert_frame_equal(frames[name], frames[finished[0]], obj=f"{name} vs {finished[0]}")
    summaries = {name: _summary(runs[name]) for name in stores}
    result: dict[str, Any] = {
        "days": days,
        "routes": routes,
        "entity_rows": entity_rows,
        "rows_with_features": len(frames[finished[0]]) if finished else None,
        "identical_rows": finished,
        "stores": summaries,
    }
    figures = []
    if all("seconds" in summaries.get(name, {}) for name in STORES):
        duck, dask = summaries["duckdb"], summaries["dask"]
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
        return f"stopped after {figures['timed_out']:.0f} s"
    if "memory_out" in figures:
        return f"stopped above {figures['memory_out']:g} GiB"
    return f"{figures['seconds']:8.2f} s {figures['peak_mib']:8.0f} MiB"


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A store's rounds: the median seconds, the most memory; or where it was stopped."""
    import statistics

    done = [run for run in runs if not STOPPED & set(run)]
    if not done:
        stopped = runs[0]
        if "timed_out" in stopped:
            return {"timed_out_after_s": stopped["timed_out"]}
        return {"stopped_above_gib": stopped["memory_out"]}
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
    parser.add_argument("--memory-gib", type=float, default=12.0, help="resident memory a store may take")
    parser.add_argument("--stores", nargs="+", choices=STORES, default=list(STORES))
    args = parser.parse_args()
    run = Run("historical_features", versions=("feast", "duckdb", "ibis-framework", "dask", "pandas"))
    run.warn_if_busy()
    limits = (args.limit, args.memory_gib, args.stores)
    measured = [measure(args.days, routes, args.rounds, *limits) for routes in args.routes]
    figures = [figure for _, sized in measured for figure in sized]
    if figures:
        print_ratios(figures, "dask", "DuckDB")
    run.write({"sizes": [size for size, _ in measured]})


if __name__ == "__main__":
    main()
