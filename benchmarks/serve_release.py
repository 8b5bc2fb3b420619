"""The cost of following two versions: ``conveyor serve`` with a candidate in release
against the same service with the champion alone, the same instances, in one run.

    python benchmarks/serve_release.py [--requests 1000] [--concurrent-requests 2000]
                                       [--batches 100] [--rounds 2] [--home CONVEYOR_HOME]

Builds the demo's data and a champion as ``serve.py`` does (or reuses ``--home``), and
registers a second version from the champion's own files (its recorded digest matches),
so both versions answer alike and only the routing costs. Three setups, each a fresh
``conveyor serve`` subprocess, for ``--rounds`` rounds in alternating order:

- direct: the champion alone (no candidate);
- canary: the second version as a 20% canary (hashing each entity, scoring the canary's
  rows with both versions: the champion's off the response path, and logging both);
- shadow: the second version in shadow on every entity (the champion answers; the
  candidate scores everything off the response path).

The phases are ``serve.py``'s: single instances sequentially and from 4 client threads,
and batches of 100. Reported: each setup's figures and their ratios to direct. Results go
to ``benchmarks/results/serve_release.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from measure import Figure, Run, Span, alternating, print_ratios, ratio
from serve import MODEL, Side, add_load_arguments, load_instances, one_round, prepare, side_result

SETUPS = ("direct", "canary", "shadow")
SHARES = {"canary": 0.2, "shadow": 1.0}


def conveyor_side(name: str) -> Side:
    return Side(
        name=name,
        command=[sys.executable, "-m", "pipelines", "serve", "--model", MODEL],
        ready_path="/ready",
        predict_path="/predict",
        body=lambda instances: {"instances": instances},
        predictions=lambda answer: [p["prediction"] for p in answer["predictions"]],
    )


def second_version(champion: str, scratch: Path) -> str:
    """A version whose files are a copy of the champion's, with the champion's digest."""
    import mlflow

    from pipelines.config.load import load_platform_config
    from pipelines.release.digest import DIGEST_TAG
    from pipelines.training.tracking import mlflow_client

    client = mlflow_client(load_platform_config())
    local = mlflow.artifacts.download_artifacts(f"models:/{MODEL}/{champion}", dst_path=str(scratch / "copy"))
    recorded = client.get_model_version(MODEL, champion).tags[DIGEST_TAG]
    return str(client.create_model_version(MODEL, local, tags={DIGEST_TAG: recorded}).version)


def arrange(setup: str, champion: str, candidate: str) -> None:
    """Point (or clear) the candidate alias for ``setup`` before its server starts."""
    from pipelines.config.load import load_platform_config
    from pipelines.release.registry import end_candidate, move_candidate
    from pipelines.training.tracking import mlflow_client

    platform = load_platform_config()
    client = mlflow_client(platform)
    end_candidate(client, platform, MODEL, candidate, decision="aborted", reason="benchmark setup")
    if setup != "direct":
        move_candidate(client, platform, MODEL, candidate, expected_champion=champion, strategy=setup,
                       share=SHARES[setup])  # fmt: skip


def figures(results: dict[str, Any], setup: str) -> list[Figure]:
    rows = [
        ("single, sequential: p50 ms", "single_sequential", ("latency_ms", "p50")),
        ("single, sequential: p99 ms", "single_sequential", ("latency_ms", "p99")),
        ("single, concurrent: req/s", "single_concurrent", ("requests_per_second",)),
        ("single, concurrent: server CPU ms/req", "single_concurrent", ("server_cpu_ms_per_request",)),
        ("batch: p50 ms", "batch_sequential", ("latency_ms", "p50")),
        ("batch: rows/s", "batch_sequential", ("rows_per_second",)),
        ("batch: server CPU ms/req", "batch_sequential", ("server_cpu_ms_per_request",)),
    ]
    shown = []
    for label, phase, path in rows:
        values = []
        for side in (setup, "direct"):
            value: Any = results[side][phase]
            for key in path:
                value = value[key]
            values.append(float(value))
        shown.append(Figure(label, values[0], values[1]))
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_arguments(parser)
    parser.add_argument("--home", type=Path, help="reuse this CONVEYOR_HOME's champion")
    args = parser.parse_args()

    run = Run("serve_release", versions=("fastapi", "uvicorn", "torch"), code=True)
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-release-bench-"))
    try:
        champion = prepare(scratch, args.home)
        candidate = second_version(champion, scratch)
        instances = load_instances()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        rounds: dict[str, list[dict[str, Span]]] = {setup: [] for setup in SETUPS}
        servers: dict[str, list[dict[str, Any]]] = {setup: [] for setup in SETUPS}
        for number, order in alternating(SETUPS, args.rounds):
            for setup in order:
                print(f"round {number + 1}/{args.rounds}: {setup}", flush=True)
                arrange(setup, champion, candidate)
                phases, server, _ = one_round(conveyor_side(setup), env, scratch, instances, args)
                rounds[setup].append(phases)
                servers[setup].append(server)
        arrange("direct", champion, candidate)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    results = {setup: side_result(rounds[setup], servers[setup]) for setup in SETUPS}

    def compared(setup: str, phase: str, *path: str) -> float:
        value, baseline = results[setup][phase], results["direct"][phase]
        for key in path:
            value, baseline = value[key], baseline[key]
        return ratio(value, baseline, 3)

    result = {
        "conditions": {
            "model": f"{MODEL}/{champion} (champion), {candidate} (a copy: the same answers)",
            "shares": SHARES,
            "instances": len(instances),
            "rounds": args.rounds,
            "order": "alternating; each round starts the server afresh",
            "requests": {
                "sequential": args.requests,
                "concurrent": args.concurrent_requests,
                "concurrency": args.concurrency,
                "batches": args.batches,
                "batch_size": args.batch_size,
            },
        },
        **results,
        "ratios_to_direct": {
            setup: {
                "single_concurrent_throughput": compared(setup, "single_concurrent", "requests_per_second"),
                "single_sequential_p50_latency": compared(setup, "single_sequential", "latency_ms", "p50"),
                "single_sequential_p99_latency": compared(setup, "single_sequential", "latency_ms", "p99"),
                "batch_rows_per_second": compared(setup, "batch_sequential", "rows_per_second"),
                "batch_server_cpu_per_request": compared(
                    setup, "batch_sequential", "server_cpu_ms_per_request"
                ),
            }
            for setup in ("canary", "shadow")
        },
    }
    for setup in ("canary", "shadow"):
        print_ratios(figures(results, setup), setup, "direct")
    run.warn_if_busy()
    run.write(result)


if __name__ == "__main__":
    main()
