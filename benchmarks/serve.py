"""Serving latency and throughput: ``conveyor serve`` against ``mlflow models serve``, the same
registered model version, the same instances, in one run on this machine.

    python benchmarks/serve.py [--requests 1000] [--warm-up 100] [--concurrency 4]
                               [--concurrent-requests 2000] [--batch-size 100] [--batches 100]
                               [--rounds 2] [--home CONVEYOR_HOME]

Builds the demo's data (120 days from 2024-01-01, 40 routes) in a temporary CONVEYOR_HOME and
trains a champion as of 2024-04-30 (version 1), as the integration tests do (about a minute;
``--home`` reuses a home that has a champion instead). Then, one server at a time, each started
as a subprocess the way a user starts it and stopped with SIGTERM, for ``--rounds`` rounds in
alternating order (conveyor, mlflow, mlflow, conveyor, ...), so that drift in the machine's
load weighs on both alike:

- conveyor: ``conveyor serve --model freight_volume`` (``POST /predict`` with
  ``{"instances": [...]}``, features inline; it validates the body, scores, and logs every
  prediction to its SQLite prediction log);
- mlflow: ``mlflow models serve -m models:/freight_volume/1 --env-manager local`` (``POST
  /invocations`` with ``{"dataframe_records": [...]}``, the same features).

Both run one uvicorn worker process with their default settings (MLflow's access log included,
written to a file). The instances are the gold layer's requests for the last two weeks of target
days (``gold_instances``); request bodies are encoded once, before timing, so the client does the
same little work for both. Every answer must be a 200. Measured for each server, after a warm-up
of ``--warm-up`` single requests and a tenth as many batches:

1. single instance, sequential: latency of ``--requests`` requests (p50, p90, p99, max);
2. single instance, concurrent: ``--concurrency`` threads, each with its own keep-alive
   ``httpx.Client``, share ``--concurrent-requests`` requests; requests/s over the wall time;
3. batches of ``--batch-size`` instances, sequential: ``--batches`` requests; latency and rows/s.

Each phase is reported pooled over the rounds (requests, seconds and latencies added up), and
each round's throughput and p50/p99 are kept too, to show how much they vary.

The client runs on the same machine, so it competes with the server for the cores. Reported per
phase: the client's and the server's CPU seconds, and the CPU the rest of the machine used
meanwhile (other work, plus kernel time charged to neither, such as loopback networking); when
that is large the run was disturbed and its numbers are noisy. Sanity checks: both servers give
the same predictions for the same batch, and after SIGTERM the prediction log holds exactly the
rows the conveyor service acknowledged. Results go to ``benchmarks/results/serve.json``. The
goals (from the issue): a concurrent single-instance throughput of at least 3x MLflow's, and a
sequential single-instance p99 under 10 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import psutil
from measure import (
    Clock,
    Figure,
    Run,
    Span,
    Stopwatch,
    against_goal,
    alternating,
    latencies,
    meets,
    print_ratios,
    ratio,
)

START, DAYS, ROUTES = date(2024, 1, 1), 120, 40
AS_OF = date(2024, 4, 30)
FIRST_TARGET, LAST_TARGET = date(2024, 4, 24), date(2024, 5, 7)
MODEL = "freight_volume"
THROUGHPUT_GOAL, P99_GOAL_MS = 3.0, 10.0
READY_TIMEOUT, STOP_TIMEOUT = 180.0, 60.0
JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class Side:
    """How to start one server and talk to it."""

    name: str
    command: list[str]
    ready_path: str
    predict_path: str
    body: Callable[[list[dict[str, Any]]], dict[str, Any]]
    predictions: Callable[[dict[str, Any]], list[float]]


def summary(span: Span) -> dict[str, Any]:
    return {
        "requests": span.calls,
        "rows": span.rows,
        "wall_seconds": round(span.wall, 3),
        "requests_per_second": round(span.calls / span.wall, 1),
        "rows_per_second": round(span.rows / span.wall, 1),
        "latency_ms": span.latency_ms(),
        "client_cpu_seconds": round(span.client_cpu, 3),
        "server_cpu_seconds": round(span.server_cpu, 3),
        "server_cpu_ms_per_request": round(1000 * span.server_cpu / span.calls, 3),
        "other_cpu_seconds": round(span.other_cpu, 3),
    }


@dataclass
class Server:
    side: Side
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    started: Stopwatch
    acknowledged_rows: int = 0
    ready_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def cpu_seconds(self) -> float:
        """User + system CPU of the server and its children (MLflow's CLI runs uvicorn as a child)."""
        try:
            root = psutil.Process(self.process.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0.0
        total = 0.0
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total


def prepare(root: Path, reuse: Path | None) -> str:
    """The demo's data and a champion trained on it, in this process; the champion's version.
    With ``reuse``, that home's champion instead."""
    os.environ["CONVEYOR_HOME"] = str(reuse or root / "home")
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.local.backfill import process_landed_days
    from pipelines.local.cycle import run_training_cycle
    from pipelines.release.registry import CHAMPION, alias_version
    from pipelines.samples.generate import generate_batches
    from pipelines.training.tracking import mlflow_client

    platform, config = load_platform_config(), load_model_config(MODEL)
    if reuse is not None:
        champion = alias_version(mlflow_client(platform), MODEL, CHAMPION)
        if champion is None:
            raise SystemExit(f"{reuse} has no champion of {MODEL}")
        return champion
    lakehouse = Lakehouse(platform.lakehouse_uri)
    days = generate_batches(platform, config, start=START, days=DAYS, routes=ROUTES)
    process_landed_days(platform, config, lakehouse, days)
    cycle = run_training_cycle(
        platform, config, lakehouse, mlflow_client(platform), as_of=AS_OF, trigger_reason="benchmark"
    )
    if cycle.promotion is None:
        raise SystemExit(f"the trained version was not promoted: {cycle.decision.summary}")
    return str(cycle.version)


def load_instances() -> list[dict[str, Any]]:
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.lakehouse.storage import Lakehouse
    from pipelines.samples.traffic import gold_instances

    platform, config = load_platform_config(), load_model_config(MODEL)
    return gold_instances(Lakehouse(platform.lakehouse_uri), config, FIRST_TARGET, LAST_TARGET)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(side: Side, env: dict[str, str], logs: Path) -> Server:
    port = free_port()
    log_path = logs / f"{side.name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*side.command, "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGTERM reaches MLflow's uvicorn child too
        )  # fmt: skip
    server = Server(side, port, process, log_path, Stopwatch())
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{side.name} exited with {process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(server.url + side.ready_path, timeout=2).status_code == 200:
                server.ready_seconds = server.started.elapsed()
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    stop(server)
    raise SystemExit(f"{side.name} was not ready within {READY_TIMEOUT:.0f}s:\n{server.log_tail()}")


def stop(server: Server) -> dict[str, Any]:
    with Stopwatch() as stopping:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGTERM)
        try:
            code = server.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            code = server.process.wait()
    return {"returncode": code, "stop_seconds": round(stopping.seconds, 2)}


def post(client: httpx.Client, server: Server, body: bytes) -> None:
    response = client.post(server.side.predict_path, content=body, headers=JSON_HEADERS)
    if response.status_code != 200:
        raise SystemExit(f"{server.side.name} answered {response.status_code}: {response.text[:500]}")


def sequential(server: Server, bodies: list[bytes], rows: int, count: int) -> Span:
    """``count`` requests one after another, cycling through ``bodies``."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        began = Clock.now(server.cpu_seconds)
        took = latencies(partial(post, client, server), (bodies[i % len(bodies)] for i in range(count)))
        ended = Clock.now(server.cpu_seconds)
    server.acknowledged_rows += count * rows
    return Span().add(began, ended, took, count * rows)


def concurrent(server: Server, bodies: list[bytes], count: int, threads: int) -> Span:
    """``threads`` clients share ``count`` single-instance requests (each its own connection)."""
    shares = [count // threads + (1 if t < count % threads else 0) for t in range(threads)]
    took: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    ready, go = threading.Barrier(threads + 1), threading.Barrier(threads + 1)

    def client_thread(number: int) -> None:
        try:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                post(client, server, bodies[number])  # open the connection before the clock starts
                ready.wait()
                go.wait()
                took[number] = latencies(
                    partial(post, client, server),
                    (bodies[(number * 7919 + index) % len(bodies)] for index in range(shares[number])),
                )
        except BaseException as error:  # SystemExit from post included: report it from the main thread
            errors.append(error)
            ready.abort()
            go.abort()

    workers = [threading.Thread(target=client_thread, args=(t,), daemon=True) for t in range(threads)]
    for worker in workers:
        worker.start()
    began = None
    with contextlib.suppress(threading.BrokenBarrierError):  # a failed client breaks them; see below
        ready.wait()
        began = Clock.now(server.cpu_seconds)
        go.wait()
    for worker in workers:
        worker.join()
    ended = Clock.now(server.cpu_seconds)
    if errors or began is None:
        raise SystemExit(f"{server.side.name}: a client failed: {errors[0] if errors else 'no error'!r}")
    server.acknowledged_rows += count + threads
    return Span().add(began, ended, [x for part in took for x in part], count)


def encode(side: Side, instances: list[dict[str, Any]], size: int) -> list[bytes]:
    """Request bodies of ``size`` instances each, covering ``instances`` (wrapping around)."""
    groups = max(1, len(instances) // size)
    return [
        json.dumps(side.body([instances[(g * size + i) % len(instances)] for i in range(size)])).encode()
        for g in range(groups)
    ]


def one_round(
    side: Side, env: dict[str, str], logs: Path, instances: list[dict[str, Any]], args: argparse.Namespace
) -> tuple[dict[str, Span], dict[str, Any], list[float]]:
    """One round for one server: start, check, warm up, the three phases, SIGTERM."""
    singles = encode(side, instances, 1)
    batches = encode(side, instances, args.batch_size)
    load_before = os.getloadavg()[0]
    server = start(side, env, logs)
    print(f"{side.name}: ready in {server.ready_seconds:.1f}s on port {server.port}", flush=True)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            check = client.post(side.predict_path, content=batches[0], headers=JSON_HEADERS)
            check.raise_for_status()
            predictions = side.predictions(check.json())
        server.acknowledged_rows += args.batch_size
        sequential(server, singles, 1, args.warm_up)
        sequential(server, batches, args.batch_size, max(1, args.warm_up // 10))
        phases = {
            "single_sequential": sequential(server, singles, 1, args.requests),
            "single_concurrent": concurrent(server, singles, args.concurrent_requests, args.concurrency),
            "batch_sequential": sequential(server, batches, args.batch_size, args.batches),
        }
    finally:
        stopped = stop(server)
    info = {
        "load_average_before": round(load_before, 2),
        "ready_seconds": round(server.ready_seconds, 2),
        **stopped,
        "acknowledged_rows": server.acknowledged_rows,
    }
    for name, phase in phases.items():
        print(f"{side.name}: {name} {round(phase.calls / phase.wall, 1)} req/s,"
              f" latency ms {json.dumps(phase.latency_ms())}", flush=True)  # fmt: skip
    return phases, info, predictions


def side_result(rounds: list[dict[str, Span]], servers: list[dict[str, Any]]) -> dict[str, Any]:
    """The rounds pooled per phase, and each round's throughput and latency for comparison."""
    result: dict[str, Any] = {name: summary(Span.pooled(r[name] for r in rounds)) for name in rounds[0]}
    result["rounds"] = [
        {
            **{
                name: {k: summed[k] for k in ("requests_per_second", "rows_per_second")}
                | {k: summed["latency_ms"][k] for k in ("p50", "p99")}
                for name, summed in ((n, summary(phase)) for n, phase in phases.items())
            },
            "server": server,
        }
        for phases, server in zip(rounds, servers, strict=True)
    ]
    return result


def logged_rows() -> int:
    from pipelines.config.load import load_platform_config
    from pipelines.serving.log import PredictionLog

    return PredictionLog(load_platform_config().serving.prediction_log_url).count(MODEL)


def sides(model_version: str) -> list[Side]:
    python = sys.executable
    mlflow_options = [
        "-m",
        f"models:/{MODEL}/{model_version}",
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
    ]
    return [
        Side(
            name="conveyor",
            command=[python, "-m", "pipelines", "serve", "--model", MODEL],
            ready_path="/ready",
            predict_path="/predict",
            body=lambda instances: {"instances": instances},
            predictions=lambda answer: [p["prediction"] for p in answer["predictions"]],
        ),
        Side(
            name="mlflow",
            command=[python, "-m", "mlflow", "models", "serve", *mlflow_options],
            ready_path="/ping",
            predict_path="/invocations",
            body=lambda instances: {"dataframe_records": [i["features"] for i in instances]},
            predictions=lambda answer: list(answer["predictions"]),
        ),
    ]


def figures(results: dict[str, dict[str, Any]]) -> list[Figure]:
    """What the table shows: conveyor's figure next to mlflow's (CPU seconds: no ratio)."""
    rows = [
        ("single, sequential: p50 ms", "single_sequential", ("latency_ms", "p50")),
        ("single, sequential: p99 ms", "single_sequential", ("latency_ms", "p99")),
        ("single, sequential: req/s", "single_sequential", ("requests_per_second",)),
        ("single, concurrent: req/s", "single_concurrent", ("requests_per_second",)),
        ("single, concurrent: p50 ms", "single_concurrent", ("latency_ms", "p50")),
        ("single, concurrent: p99 ms", "single_concurrent", ("latency_ms", "p99")),
        ("single, concurrent: server CPU ms/req", "single_concurrent", ("server_cpu_ms_per_request",)),
        ("single, concurrent: client CPU s", "single_concurrent", ("client_cpu_seconds",)),
        ("single, concurrent: other CPU s (noise)", "single_concurrent", ("other_cpu_seconds",)),
        ("batch: p50 ms", "batch_sequential", ("latency_ms", "p50")),
        ("batch: p99 ms", "batch_sequential", ("latency_ms", "p99")),
        ("batch: rows/s", "batch_sequential", ("rows_per_second",)),
        ("batch: server CPU ms/req", "batch_sequential", ("server_cpu_ms_per_request",)),
    ]
    shown = []
    for label, phase, path in rows:
        values = []
        for side in ("conveyor", "mlflow"):
            value: Any = results[side][phase]
            for key in path:
                value = value[key]
            values.append(float(value))
        shown.append(Figure(label, values[0], values[1], compare="CPU s" not in label))
    return shown


def add_load_arguments(parser: argparse.ArgumentParser) -> None:
    """The phases' sizes (``one_round`` reads them) and the rounds, alternating the order."""
    parser.add_argument("--requests", type=int, default=1000, help="sequential single-instance requests")
    parser.add_argument("--warm-up", type=int, default=100, help="single-instance requests before measuring")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads in the concurrent phase")
    parser.add_argument("--concurrent-requests", type=int, default=2000, help="requests they share")
    parser.add_argument("--batch-size", type=int, default=100, help="instances per batch request")
    parser.add_argument("--batches", type=int, default=100, help="sequential batch requests")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, alternating the order")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_arguments(parser)
    parser.add_argument(
        "--home",
        type=Path,
        help="reuse this CONVEYOR_HOME's champion instead of building one (faster reruns)",
    )
    args = parser.parse_args()

    run = Run("serve", versions=("conveyor", "mlflow", "fastapi", "uvicorn", "torch", "httpx"), code=True)
    scratch = Path(tempfile.mkdtemp(prefix="conveyor-serve-bench-"))
    try:
        model_version = prepare(scratch, args.home)
        print(f"data and champion (version {model_version}) ready in {run.clock.elapsed():.0f}s",
              flush=True)  # fmt: skip
        instances = load_instances()
        if len(instances) < args.batch_size:
            raise SystemExit(f"only {len(instances)} instances; need at least --batch-size")

        import torch

        from pipelines.config.load import load_platform_config

        platform = load_platform_config()
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": platform.mlflow_tracking_uri,
            # MLflow runs `uvicorn` from PATH; make it this environment's.
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("MLFLOW_MODELS_WORKERS", None)  # one worker process, like conveyor serve
        logged_before = logged_rows()
        rounds: dict[str, list[dict[str, Span]]] = {"conveyor": [], "mlflow": []}
        servers: dict[str, list[dict[str, Any]]] = {"conveyor": [], "mlflow": []}
        differences = []
        for number, order in alternating(sides(model_version), args.rounds):
            predictions: dict[str, list[float]] = {}
            for side in order:
                print(f"round {number + 1}/{args.rounds}: {side.name}", flush=True)
                phases, server, predictions[side.name] = one_round(side, env, scratch, instances, args)
                rounds[side.name].append(phases)
                servers[side.name].append(server)
            differences.append(np.max(np.abs(np.subtract(predictions["conveyor"], predictions["mlflow"]))))
        logged = logged_rows() - logged_before
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    results = {name: side_result(rounds[name], servers[name]) for name in rounds}
    ours, theirs = results["conveyor"], results["mlflow"]
    difference = float(max(differences))
    acknowledged = sum(server["acknowledged_rows"] for server in servers["conveyor"])

    def compared(phase: str, *path: str) -> float:
        """Conveyor's figure over mlflow's."""
        value, baseline = ours[phase], theirs[phase]
        for key in path:
            value, baseline = value[key], baseline[key]
        return ratio(value, baseline, 3)

    throughput = compared("single_concurrent", "requests_per_second")
    p99 = ours["single_sequential"]["latency_ms"]["p99"]
    result = {
        "conditions": {
            "model": f"{MODEL}/{model_version}",
            "data": f"built here: {DAYS} days from {START}, {ROUTES} routes, trained as of {AS_OF}"
            if args.home is None
            else f"reused {args.home}",
            "instances": len(instances),
            "target_days": [FIRST_TARGET.isoformat(), LAST_TARGET.isoformat()],
            "warm_up_requests": args.warm_up,
            "warm_up_batches": max(1, args.warm_up // 10),
            "sequential_requests": args.requests,
            "concurrency": args.concurrency,
            "concurrent_requests": args.concurrent_requests,
            "batch_size": args.batch_size,
            "batches": args.batches,
            "rounds": args.rounds,
            "order": "alternating, conveyor first in odd rounds; each round starts the server afresh",
            "pooled": "each phase's requests, seconds and latencies added up over the rounds",
            "server_workers": 1,
            "client": "httpx.Client per thread, keep-alive, bodies encoded before timing, same machine",
            "torch_default_threads": torch.get_num_threads(),
            "conveyor_poll_seconds": platform.serving.poll_seconds,
            "conveyor_flush_seconds": platform.serving.flush_seconds,
            "mlflow_access_log": "on (MLflow's default), to a file",
        },
        "conveyor": ours,
        "mlflow": theirs,
        "ratios_conveyor_to_mlflow": {
            "single_concurrent_throughput": throughput,
            "single_sequential_throughput": compared("single_sequential", "requests_per_second"),
            "single_sequential_p50_latency": compared("single_sequential", "latency_ms", "p50"),
            "single_sequential_p99_latency": compared("single_sequential", "latency_ms", "p99"),
            "batch_rows_per_second": compared("batch_sequential", "rows_per_second"),
        },
        "goals": {
            "throughput_ratio_at_least": THROUGHPUT_GOAL,
            "meets_throughput_goal": meets(throughput, THROUGHPUT_GOAL),
            "single_p99_ms_below": P99_GOAL_MS,
            "meets_p99_goal": meets(p99, P99_GOAL_MS, below=True),
        },
        "checks": {
            "max_prediction_difference": difference,
            "conveyor_acknowledged_rows": acknowledged,
            "conveyor_logged_rows": logged,
            "every_acknowledged_row_logged": logged == acknowledged,
        },
    }

    print_ratios(figures(results), "conveyor", "mlflow")
    print(
        f"\nthroughput (single, {args.concurrency} clients) conveyor/mlflow {throughput:.2f}"
        f" {against_goal(throughput, THROUGHPUT_GOAL, unit='x')};"
        f" conveyor single p99 {p99:.2f} ms {against_goal(p99, P99_GOAL_MS, below=True, unit=' ms')}"
    )
    for phase in ("single_concurrent", "single_sequential"):
        spread = {n: [r[phase]["requests_per_second"] for r in results[n]["rounds"]] for n in results}
        print(f"{phase} req/s by round: {json.dumps(spread)}")
    print(f"max prediction difference between the two servers: {difference:.3g}")
    print(f"prediction log: {logged} rows for {acknowledged} acknowledged")
    run.warn_if_busy()
    run.write(result)


if __name__ == "__main__":
    main()
