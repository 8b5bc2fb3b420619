"""``make demo``: the main job end to end on the embedded default, then where to look."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import fsspec
import pandas as pd

from pipelines.config.load import load_model_config, load_platform_config
from pipelines.errors import BatchRejectedError
from pipelines.lakehouse.expectations import BatchValidator
from pipelines.lakehouse.ingest import ingest_batch, landing_uri
from pipelines.lakehouse.storage import FRAME_FILE, Lakehouse, PartitionKey
from pipelines.lakehouse.validate import validate_batch
from pipelines.local.airflow import airflow_environment, run_dag
from pipelines.local.backfill import process_landed_days
from pipelines.release.registry import CANDIDATE, CHAMPION, alias_version, read_lineage
from pipelines.samples.corruption import batch_columns, corrupt_batch
from pipelines.samples.generate import generate_batches
from pipelines.training.tracking import mlflow_client
from pipelines.ui.card import CARD_TAG

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig

log = logging.getLogger("conveyor.demo")


def run_demo(model: str, start: date, days: int) -> None:
    """History in process, then the lifecycle through Airflow: the first training, new
    batches with a shift in them, the monitor noticing, and the retrain it starts."""
    platform = load_platform_config()
    config = load_model_config(model)
    lakehouse = Lakehouse(platform.lakehouse_uri)
    first_training = start + timedelta(days=days)
    shift_start, check_day = first_training + timedelta(days=5), first_training + timedelta(days=12)
    release_day = check_day + timedelta(days=21)  # the new region has three weeks of reports
    judge_day = release_day + timedelta(days=9)  # a week of canary traffic and its actuals
    # Batches land a week past the last day the story ingests.
    scenario_days = (judge_day - start).days + 7
    logical_dates = load_data(platform, config, lakehouse, start, days, scenario_days, shift_start)
    _print_data_summary(lakehouse, config, logical_dates)

    print(
        f"\nAirflow on the embedded default ({platform.home}/airflow, SQLite; every task a conveyor"
        " subprocess)"
    )
    env = airflow_environment(platform.home, platform.home / "airflow")
    train = f"{config.name}__train"
    first = run_dag(env, train, first_training.isoformat(), {"reason": "manual (make demo)"})
    _print_run(train, first_training, first)

    print(f"\nNew batches arrive; from {shift_start} they carry a new region (stations FAR-xx).")
    arrived = [first_training + timedelta(days=n) for n in range(1, (check_day - first_training).days)]
    process_landed_days(platform, config, lakehouse, arrived)
    print(f"  {arrived[0]} .. {arrived[-1]} through bronze, silver and gold")
    ingest = run_dag(env, f"{config.name}__ingest", check_day.isoformat())
    _print_run(f"{config.name}__ingest", check_day, ingest)
    horizon = timedelta(days=config.features.horizon_days)
    serve_and_replay(platform, config, lakehouse, first_training + timedelta(days=1), check_day + horizon)

    monitor = run_dag(env, f"{config.name}__monitor", check_day.isoformat())
    _print_run(f"{config.name}__monitor", check_day, monitor)
    _print_checks(platform, config, check_day)
    triggered = [r for r in monitor["others"] if r["dag_id"] == train and r["state"] == "queued"]
    client = mlflow_client(platform)
    for queued in triggered:
        print(f"  -> it queued {train} run {queued['run_id']} with {queued['conf']}; running it")
        retrain = run_dag(env, train, check_day.isoformat(), queued["conf"])
        _print_run(train, check_day, retrain)
        challenger = read_lineage(client, f"{config.name}@challenger")
        print(
            f"  version {challenger['version']} (trigger: {challenger['lineage']['trigger_reason']}):"
            f" gate {challenger['gate'].get('summary', '')}"
        )
        print(
            "  (the new region's days have no features yet, so a retrain cannot learn it yet;"
            " the gates keep the champion until one that is better on the same test set comes)"
        )
    release_a_candidate(platform, config, lakehouse, env, check_day, release_day, judge_day)
    _print_model_summary(platform, client, config, f"{config.name}@champion")
    drift_report = f"{platform.reports_uri}/{config.name}/drift-{check_day}.html"
    print(f"  drift report (Evidently): {drift_report}")
    print("  the Airflow and MLflow UIs on this state: make ui")


def release_a_candidate(
    platform: PlatformConfig,
    config: ModelConfig,
    lakehouse: Lakehouse,
    env: dict[str, str],
    check_day: date,
    release_day: date,
    judge_day: date,
) -> None:
    """Weeks later a retrain that has seen the new region passes its gates and is released
    as the config says (a canary); a week of traffic, its actuals, and the monitor's
    judge_candidate decides from the live results."""
    train, monitor_dag = f"{config.name}__train", f"{config.name}__monitor"
    days = [check_day + timedelta(days=n) for n in range(1, (release_day - check_day).days + 1)]
    process_landed_days(platform, config, lakehouse, days)
    print(f"\nThree weeks on ({days[0]} .. {days[-1]} through gold), the new region has reports;"
          " a training that has seen them:")  # fmt: skip
    reason = "manual (make demo: the new region has three weeks of reports)"
    _print_run(train, release_day, run_dag(env, train, release_day.isoformat(), {"reason": reason}))
    client = mlflow_client(platform)
    challenger = read_lineage(client, f"{config.name}@challenger")
    print(f"  version {challenger['version']}: gate {challenger['gate'].get('summary', '')}")
    candidate = alias_version(client, config.name, CANDIDATE)
    if candidate is None:
        print("  (not released: the champion stays)")
        return
    release = config.release
    print(f"  released as a {release.strategy} on {release.share:.0%} of the routes beside"
          f" champion {alias_version(client, config.name, CHAMPION)}; live results decide")  # fmt: skip
    horizon = timedelta(days=config.features.horizon_days)
    answers = serve_and_replay(
        platform, config, lakehouse, release_day + timedelta(days=1), release_day + horizon, by_key=False
    )
    by_version = Counter(row["version"] for answer in answers for row in answer["predictions"])
    print("  answered by version: " + ", ".join(f"{v}: {n}" for v, n in sorted(by_version.items())))
    process_landed_days(platform, config, lakehouse, [release_day + timedelta(days=n) for n in range(1, 10)])
    outcome = run_dag(env, monitor_dag, judge_day.isoformat())
    _print_run(monitor_dag, judge_day, outcome)
    with fsspec.open(f"{platform.reports_uri}/{config.name}/release-{candidate}-{judge_day}.json") as report:
        decision = json.load(report)
    print(f"  judge_candidate: {decision['outcome']} version {candidate}: {decision['reason']}")
    champion = alias_version(client, config.name, CHAMPION)
    if decision["outcome"] == "roll back":
        print(
            f"  (the test set did not show it, live traffic did: champion {champion} answers every"
            " route again)"
        )
    elif decision["outcome"] == "promote":
        print(f"  (version {champion} is champion now and answers every route)")
    card = client.get_model_version(config.name, candidate).tags.get(CARD_TAG)
    print(f"  its model card, with the live results: {card}")


def serve_and_replay(
    platform: PlatformConfig,
    config: ModelConfig,
    lakehouse: Lakehouse,
    first: date,
    last: date,
    *,
    by_key: bool = True,
) -> list[dict[str, Any]]:
    """Start `conveyor serve`, send it the requests of target days [first, last] with the
    generator's features (and, ``by_key``, one by entity key: the online features of the
    last materialized day), then stop it. Returns the answers."""
    import httpx

    from pipelines.samples.traffic import gold_instances, send

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "pipelines", "serve", "-m", config.name, "--port", str(port)]
    print(f"\nServing: {' '.join(command[2:])}")
    server = subprocess.Popen(command)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):
                    if http.get("/ready").status_code == 200:
                        break
                time.sleep(0.5)
            instances = gold_instances(lakehouse, config, first, last)
            answers = send(http, instances, batch_size=100)
            print(f"  {len(instances)} requests for target days {first} .. {last} answered and logged")
            if by_key:
                example = {k: instances[-1][k] for k in (*config.entity_keys, config.timestamp_column)}
                answer = http.post("/predict", json={"instances": [example]}).json()
                print(f"  POST /predict {json.dumps({'instances': [example]})}\n  -> {json.dumps(answer)}")
    finally:
        server.send_signal(signal.SIGTERM)  # the service writes its log buffer, then exits
        server.wait(timeout=60)
    print(f"  prediction log: {platform.serving.prediction_log_url}")
    return answers


def _print_checks(platform: PlatformConfig, config: ModelConfig, day: date) -> None:
    for check in ("performance", "drift"):
        with fsspec.open(f"{platform.reports_uri}/{config.name}/{check}-{day}.json") as summary:
            result = json.load(summary)
        value = "no data" if result["value"] is None else f"{result['value']:.2f}"
        print(f"  {check}: {value} against {result['threshold']} over {result['rows']} served rows")


def _print_run(dag_id: str, day: date, outcome: dict[str, Any]) -> None:
    print(f"  {dag_id} {day}: {outcome['state'].replace('DagRunState.', '')}")
    for task, state in outcome["tasks"].items():
        print(f"      {task:24} {state.replace('TaskInstanceState.', '')}")


def load_data(
    platform: PlatformConfig,
    config: ModelConfig,
    lakehouse: Lakehouse,
    start: date,
    days: int,
    scenario_days: int,
    shift_start: date,
) -> list[date]:
    """Land a scenario of ``scenario_days`` (a new region from ``shift_start``) and take its
    first ``days`` through bronze, silver and gold; one batch arrives corrupted first, is
    quarantined, and its correction follows. Returns the logical dates loaded."""
    validator = BatchValidator(config)
    source = config.source.name
    landed = generate_batches(
        platform, config, start=start, days=scenario_days, shift="new_region", shift_start=shift_start
    )
    logical_dates = [d for d in landed if d <= start + timedelta(days=days)]
    print(f"generated {len(landed)} daily batches of {source} in {platform.landing_uri}")

    broken_day = logical_dates[len(logical_dates) // 2]
    broken_uri = f"{platform.landing_uri}/{source}/{broken_day.isoformat()}.broken.csv"
    with fsspec.open(landing_uri(platform, config, broken_day)) as clean:
        batch = pd.read_csv(clean)
    with fsspec.open(broken_uri, "wb") as out:
        out.write(
            corrupt_batch(
                batch,
                "negative_target",
                columns=batch_columns(config),
                logical_date=broken_day,
                max_rows=config.source.max_rows_per_batch,
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
    platform: PlatformConfig, client: MlflowClient, config: ModelConfig, reference: str
) -> None:
    record = read_lineage(client, reference)
    metrics = ", ".join(f"{k} {v:.2f}" for k, v in record["metrics"].items() if k in ("rmse", "mae", "mape"))
    print(f"\nModel: {config.name} version {record['version']} is champion")
    print(f"  test metrics   {metrics}")
    print(f"  gate           {record['gate'].get('kind', '')}: {record['gate'].get('summary', '')}")
    print("  lineage")
    for key, value in record["lineage"].items():
        print(f"    {key:28} {value}")
    print(f"\n  MLflow: {platform.mlflow_tracking_uri} (experiment {config.name}, run {record['run_id']})")
    print(f"  see it all again: conveyor lineage {reference}")
    card = client.get_model_version(config.name, record["version"]).tags.get(CARD_TAG)
    print(f"  model card: {card or 'not written'} (and .html beside it)")
