"""Throughput and peak memory of ingest + validate + gold against two baselines, same batch,
same run: the same work written as a user would (pandas read, the same GX suite,
``to_parquet``) and bare pyarrow CSV -> Parquet.

    python benchmarks/ingest.py [--rows 100000 1000000 10000000] [--repeats 3]

Each measurement runs in a fresh subprocess so peak memory is its own. The batch is one big
day of a large network (10 days of reports from ``rows / 10`` routes, the last day cut so
that the batch holds exactly ``rows`` rows), written a day at a time. Reported: the rows
fed (counted in the file), seconds (best of ``repeats``), rows/s, each stage's seconds, and
peak resident memory.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import string
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from measure import Figure, Run, Stopwatch, peak_rss_mib, print_ratios

START = date(2024, 1, 1)
DAYS = 10
LOGICAL_DATE = START + timedelta(days=DAYS)
STAGES = ("ingest", "validate", "gold")
FANOUT = 100  # destinations per origin station
MAX_ROWS = 50_000_000  # the benchmark's copy of source.max_rows_per_batch
KINDS = ("pipeline", "pandas_gx", "pyarrow")


def _stations(count: int) -> list[str]:
    """``count`` station codes the suite accepts (``AAA-01`` .. ``ZZZ-99``), in sorted order."""
    letters = string.ascii_uppercase
    prefixes = (a + b + c for a in letters for b in letters for c in letters)
    return list(itertools.islice((f"{p}-{n:02d}" for p in prefixes for n in range(1, 100)), count))


def _routes(count: int) -> Any:
    """``count`` distinct (origin, destination) routes, sorted, with a region and a typical size.

    Each origin serves ``FANOUT`` destinations, so there are enough stations for any count
    (the repo's generator pairs every station with every other one of 4 regions x 99 station
    numbers at most, which caps a day at 156,420 routes)."""
    import numpy as np
    import pyarrow as pa

    from pipelines.samples.freight import REGION_FACTORS

    origins = max(1, math.ceil(count / FANOUT))
    codes = _stations(origins + FANOUT)
    index = np.arange(count)
    origin = index // FANOUT
    destination = origin + 1 + index % FANOUT
    regions = np.array(list(REGION_FACTORS))[origin % len(REGION_FACTORS)]
    rng = np.random.default_rng(0)
    base = rng.lognormal(mean=np.log(30), sigma=0.6, size=count) * np.vectorize(REGION_FACTORS.get)(regions)
    names = np.array(codes)
    return pa.table(
        {"origin": names[origin], "destination": names[destination], "region": regions, "base": base}
    )


def make_batch(rows: int, folder: Path) -> Path:
    """A CSV of exactly ``rows`` rows: ``DAYS`` days of ``ceil(rows / DAYS)`` routes, the last
    day cut short, sorted by date and route as the repo's generator writes them. Written a day
    at a time, so that generating 10M rows does not need them all in memory."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv

    from pipelines.samples.freight import BATCH_COLUMNS, WEEKDAY_FACTORS

    schema = pa.schema([(c, pa.int64() if c == "volume" else pa.string()) for c in BATCH_COLUMNS])
    per_day = math.ceil(rows / DAYS)
    routes = _routes(per_day)
    rng = np.random.default_rng(1)
    path = folder / f"batch-{rows}.csv"
    options = pyarrow.csv.WriteOptions(include_header=False, quoting_style="none")
    written = 0
    with path.open("wb") as handle, pyarrow.csv.CSVWriter(handle, schema, write_options=options) as writer:
        handle.write((",".join(BATCH_COLUMNS) + "\n").encode())
        for offset in range(DAYS):
            day = START + timedelta(days=offset)
            count = min(per_day, rows - written)
            if count <= 0:
                break
            chosen = routes.slice(0, count)
            mean = chosen["base"].to_numpy() * WEEKDAY_FACTORS[day.weekday()]
            table = pa.table(
                {
                    "date": pa.array([day.isoformat()] * count),
                    "origin": chosen["origin"],
                    "destination": chosen["destination"],
                    "region": chosen["region"],
                    "volume": pa.array(rng.poisson(mean), pa.int64()),
                },
                schema=schema,
            )
            writer.write_table(table)
            written += count
    return path


def rows_in(batch: Path) -> int:
    """The rows the batch actually holds (lines after the header)."""
    with batch.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b"")) - 1


def run_pipeline(batch: Path, home: Path) -> dict[str, float]:
    os.environ["CONVEYOR_HOME"] = str(home)
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.lakehouse.expectations import BatchValidator
    from pipelines.lakehouse.gold import build_gold
    from pipelines.lakehouse.ingest import ingest_batch
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.lakehouse.validate import validate_batch

    base = load_model_config("freight_volume")
    source = base.source.model_copy(update={"max_rows_per_batch": MAX_ROWS})
    config = base.model_copy(update={"source": source})
    lakehouse = Lakehouse(load_platform_config().lakehouse_uri)
    validator = BatchValidator(config)  # one-time set-up per worker, as in the demo and DAGs

    with Stopwatch() as watch:
        ingest_batch(lakehouse, config, LOGICAL_DATE, str(batch))
        watch.lap("ingest")
        validate_batch(lakehouse, config, LOGICAL_DATE, validator=validator)
        watch.lap("validate")
        build_gold(lakehouse, config, LOGICAL_DATE)
        watch.lap("gold")
    return {"seconds": watch.seconds, **watch.laps}


def run_pandas_gx(batch: Path, home: Path) -> dict[str, float]:
    """The same work as a user would write it: read the CSV with pandas, run the same GX suite
    on the whole frame, write it to Parquet."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    import great_expectations as gx
    import pandas as pd

    from pipelines.config.load import expectation_suite_path, load_model_config

    config = load_model_config("freight_volume")
    definition = json.loads(expectation_suite_path(config).read_text())
    context = gx.get_context(mode="ephemeral")
    asset = context.data_sources.add_pandas("freight").add_dataframe_asset("batch")
    batch_definition = asset.add_batch_definition_whole_dataframe("whole batch")
    suite = context.suites.add(gx.ExpectationSuite(name="freight", expectations=definition["expectations"]))
    parameters = {
        "max_rows": MAX_ROWS,
        "min_date": pd.Timestamp(LOGICAL_DATE - timedelta(days=14)),
        "max_date": pd.Timestamp(LOGICAL_DATE),
    }
    with Stopwatch() as watch:
        frame = pd.read_csv(batch, dtype={"origin": "string", "destination": "string", "region": "string"})
        frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
        result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
            suite, expectation_parameters=parameters
        )
        assert result.success, "the benchmark's batch must pass the suite"
        home.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(home / "silver.parquet", index=False)
    return {"seconds": watch.seconds}


def run_pyarrow(batch: Path, home: Path) -> dict[str, float]:
    """Bare pyarrow: read the CSV, write Parquet; nothing checked."""
    import pyarrow.csv
    import pyarrow.parquet

    with Stopwatch() as watch:
        table = pyarrow.csv.read_csv(batch)
        home.mkdir(parents=True, exist_ok=True)
        pyarrow.parquet.write_table(table, home / "silver.parquet")
    return {"seconds": watch.seconds}


def worker(kind: str, batch: Path) -> None:
    with tempfile.TemporaryDirectory() as home:
        run = {"pipeline": run_pipeline, "pandas_gx": run_pandas_gx, "pyarrow": run_pyarrow}[kind]
        timings = run(batch, Path(home))
    print(json.dumps({**timings, "peak_rss_mib": peak_rss_mib()}))


def best_of(kind: str, batch: Path, repeats: int) -> dict[str, float]:
    """Best of ``repeats`` fresh processes; the peak memory is the worst of them."""
    runs = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, __file__, "--worker", kind, "--batch", str(batch)],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "peak_rss_mib": max(r["peak_rss_mib"] for r in runs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", choices=KINDS)
    parser.add_argument("--batch", type=Path)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.batch)
        return

    run = Run("ingest")
    results, figures = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for rows in args.rows:
            batch = make_batch(rows, Path(scratch))
            fed = rows_in(batch)
            measured = {kind: best_of(kind, batch, args.repeats) for kind in KINDS}
            results.append(
                {
                    "rows": fed,
                    **{
                        f"{kind}_{name}": value
                        for kind, timings in measured.items()
                        for name, value in (
                            ("seconds", round(timings["seconds"], 3)),
                            ("rows_per_second", round(fed / timings["seconds"])),
                            ("peak_rss_mib", round(timings["peak_rss_mib"])),
                        )
                    },
                    "stage_seconds": {stage: round(measured["pipeline"][stage], 3) for stage in STAGES},
                }
            )
            print(json.dumps(results[-1]), flush=True)
            pipeline, user = measured["pipeline"], measured["pandas_gx"]
            figures += [
                Figure(f"{fed:,} rows: seconds", pipeline["seconds"], user["seconds"]),
                Figure(f"{fed:,} rows: rows/s", fed / pipeline["seconds"], fed / user["seconds"]),
                Figure(f"{fed:,} rows: peak MiB", pipeline["peak_rss_mib"], user["peak_rss_mib"]),
            ]

    print_ratios(figures, "pipeline", "pandas+GX")
    run.write({"results": results})


if __name__ == "__main__":
    main()
