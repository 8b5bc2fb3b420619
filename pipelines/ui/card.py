"""A model card for every registered version (Mitchell et al. 2019, "Model Cards for
Model Reporting"), as Markdown with a YAML header in the Hugging Face model card format
(``model-index`` with the metrics and datasets), and as HTML with its charts.

Written when a version is registered and again when it is promoted, released, judged or
rolled back (the ``conveyor`` commands that do so call ``write_model_card``): model
details, intended use and limitations (the config's ``card:``), factors (the slices),
test metrics with bootstrap confidence intervals overall and per slice, the training and
evaluation data, the gate's decision, and the live results as they arrive. Logged on the
version's MLflow run (``model_card/``), kept under ``reports/<model>/cards/`` and linked
from the version (tag ``conveyor.card``)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import fsspec
import numpy as np
import yaml

from pipelines.features.datasets import read_dataset
from pipelines.features.store import EVENT_TIMESTAMP
from pipelines.monitor.history import check_history
from pipelines.release.registry import ALIASES, alias_version
from pipelines.training.lineage import TAG, from_tags
from pipelines.training.metrics import HIGHER_IS_BETTER, units

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig

CARD_TAG = f"{TAG}card"
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float
    units: int

    def text(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def metric_interval(scored: pd.DataFrame, config: ModelConfig, metric: str, seed: int) -> Interval | None:
    """The metric on ``scored`` with its bootstrap 95% interval over its units (rows, or
    result lists); None with fewer than two units."""
    from scipy.stats import bootstrap

    values, statistic = units(scored, config, metric)
    if len(values) < 2:
        return None
    result = bootstrap((values,), statistic, vectorized=True, n_resamples=1000, confidence_level=CONFIDENCE,
                       method="percentile", rng=np.random.default_rng(seed))  # fmt: skip
    interval = result.confidence_interval
    return Interval(float(statistic(values)), float(interval.low), float(interval.high), len(values))


def test_metrics(scored: pd.DataFrame, config: ModelConfig) -> dict[str, dict[str, Interval | None]]:
    """``{"overall": {metric: interval}, "<column>=<value>": {...}}`` for the card's metrics."""
    metrics = [config.gates.metric, *([] if config.ranking else ["mae"])]
    metrics = list(dict.fromkeys(metrics))
    seed = config.model.seed
    table = {"overall": {m: metric_interval(scored, config, m, seed) for m in metrics}}
    for column in config.slices:
        if column not in scored.columns:
            continue
        for value, rows in scored.groupby(column, observed=True):
            table[f"{column}={value}"] = {m: metric_interval(rows, config, m, seed) for m in metrics}
    return table


def dataset_facts(uri: str) -> dict[str, Any]:
    frame = read_dataset(uri)
    facts: dict[str, Any] = {"uri": uri, "rows": len(frame)}
    if EVENT_TIMESTAMP in frame.columns and len(frame):
        days = frame[EVENT_TIMESTAMP]
        facts["first_day"], facts["last_day"] = str(days.min())[:10], str(days.max())[:10]
    return facts


def _read_json(uri: str) -> dict[str, Any] | None:
    fs, path = fsspec.core.url_to_fs(uri)
    if not fs.exists(path):
        return None
    with fs.open(path, "r") as handle:
        loaded: dict[str, Any] = json.load(handle)
        return loaded


def card_facts(
    platform: PlatformConfig, config: ModelConfig, client: MlflowClient, version: str
) -> dict[str, Any]:
    """Everything the card says about ``version``, as plain data."""
    found = client.get_model_version(config.name, version)
    fields = from_tags(dict(found.tags))
    run = client.get_run(str(found.run_id))
    scored = read_dataset(fields["predictions_dataset_uri"])
    fs, reports = fsspec.core.url_to_fs(f"{platform.reports_uri}/{config.name}")
    releases = sorted(fs.glob(f"{reports}/release-{version}-*.json")) if fs.exists(reports) else []
    live = {check: [p for p in points if p["champion_version"] == version]
            for check, points in check_history(platform.reports_uri, config.name).items()}  # fmt: skip
    return {
        "model": config.name,
        "version": version,
        "aliases": [alias for alias in ALIASES if alias_version(client, config.name, alias) == version],
        "run_id": str(found.run_id),
        "fields": fields,
        "params": dict(run.data.params),
        "metrics": test_metrics(scored, config),
        "data": {
            kind: dataset_facts(fields[f"{kind}_dataset_uri"])
            for kind in ("train", "test")
            if fields.get(f"{kind}_dataset_uri")
        },
        "gate_report": _read_json(fields["gate.report"]) if fields.get("gate.report") else None,
        "releases": [json.loads(fs.cat_file(path)) for path in releases],
        "live": live,
    }


def _header(facts: dict[str, Any], config: ModelConfig) -> str:
    """The Hugging Face model card header: ``model-index`` with the test metrics."""
    task = "text-ranking" if config.ranking else "tabular-regression"
    test = facts["data"].get("test", {})
    metrics = [
        {"type": metric, "value": round(interval.value, 6),
         "name": f"{metric} (test; 95% CI {interval.low:.3f} to {interval.high:.3f})"}
        for metric, interval in facts["metrics"]["overall"].items() if interval is not None
    ]  # fmt: skip
    header = {
        "model_name": f"{config.name} v{facts['version']}",
        "tags": ["conveyor", config.model.type],
        "datasets": [facts["data"][kind]["uri"] for kind in ("train", "test") if kind in facts["data"]],
        "model-index": [{
            "name": f"{config.name} v{facts['version']}",
            "results": [{
                "task": {"type": task, "name": config.description},
                "dataset": {"type": config.source.name, "name": f"{config.source.name} test set",
                            "split": f"{test.get('first_day', '?')}..{test.get('last_day', '?')}"},
                "metrics": metrics,
            }],
        }],
    }  # fmt: skip
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n"


def _metrics_table(facts: dict[str, Any]) -> list[str]:
    names = list(facts["metrics"]["overall"])
    lines = ["| slice | " + " | ".join(f"{m} [95% CI]" for m in names) + " | units |",
             "|---" * (len(names) + 2) + "|"]  # fmt: skip
    for where, metrics in facts["metrics"].items():
        shown = [metrics[m].text() if metrics[m] else "n/a" for m in names]
        count = next((m.units for m in metrics.values() if m), 0)
        lines.append(f"| {where} | " + " | ".join(shown) + f" | {count} |")
    return lines


def markdown_card(facts: dict[str, Any], config: ModelConfig) -> str:
    f, version = facts["fields"], facts["version"]
    card = config.card
    unwritten = f"not written yet: add `card:` to configs/models/{config.name}.yaml"
    gate = facts["gate_report"] or {}
    lines = [
        _header(facts, config),
        f"# Model card: {config.name} version {version}",
        "",
        f"{config.description}",
        "",
        "## Model details",
        f"- Type: `{config.model.type}`, seed {f.get('seed', '')}; parameters: "
        + ", ".join(f"{k}={v}" for k, v in sorted(facts["params"].items()))
        + ".",
        f"- Owner: {config.owner}. Aliases now: {', '.join(facts['aliases']) or 'none'}.",
        f"- Code: commit {f.get('git_commit', '')} (uncommitted changes: {f.get('git_dirty', '')});"
        f" config hash {f.get('config_hash', '')}; MLflow run {facts['run_id']}.",
        f"- Trained as of {f.get('as_of', '')}, trigger: {f.get('trigger_reason', '')},"
        f" DAG run {f.get('dag_run_id') or 'none (in process)'}.",
        "",
        "## Intended use",
        card.intended_use if card else unwritten,
        "",
        "## Limitations",
        card.limitations if card else unwritten,
        *(["", "Out of scope: " + card.out_of_scope] if card and card.out_of_scope else []),
        "",
        "## Factors",
        "Metrics are reported per value of: "
        + (", ".join(config.slices) or "no slice (none configured)")
        + ".",
        "",
        "## Metrics",
        f"On the test set, with {CONFIDENCE:.0%} bootstrap intervals over "
        + ("result lists" if config.ranking else "rows")
        + f" ({'higher' if config.gates.metric in HIGHER_IS_BETTER else 'lower'} is better for"
        f" {config.gates.metric}, the gates' metric):",
        "",
        *_metrics_table(facts),
        "",
        "## Training and evaluation data",
    ]
    for kind in ("train", "test"):
        data = facts["data"].get(kind)
        if data:
            days = f"{data.get('first_day', '?')} .. {data.get('last_day', '?')}"
            lines.append(f"- {kind}: {data['rows']} rows, {days},"
                         f" `{data['uri']}`, digest {f.get(f'{kind}_dataset_digest', '')[:16]}")  # fmt: skip
    lines += [
        f"- test predictions: `{f.get('predictions_dataset_uri', '')}`,"
        f" digest {f.get('predictions_dataset_digest', '')[:16]}",
        f"- Source `{config.source.name}`, validated by the Great Expectations suite"
        f" `{config.source.expectation_suite}`: {f.get('validation_results', '')}",
        f"- Features: the Feast feature service `{f.get('feature_service', '')}`.",
        "",
        "## Gate decision",
        f"{f.get('gate.kind', '')} ({f.get('gate.mode', '')}): **{f.get('gate.summary', 'not gated')}**",
        *[f"- {'pass' if c['passed'] else 'FAIL'}: {c['detail']}" for c in gate.get("checks", [])],
        *([f"- Forced by {f['forced_by']}: {f.get('forced_reason', '')}"] if f.get("forced_by") else []),
        "",
        "## Live results",
    ]
    live_lines = []
    if f.get("release.strategy"):
        beside = f.get("release.champion_version")
        live_lines.append(f"- Released as {f['release.strategy']} beside version {beside}"
                          f": {f.get('release.decision', '')}. {f.get('release.reason', '')}")  # fmt: skip
    for decision in facts["releases"]:
        live_lines.append(f"- {decision['as_of']}: {decision['outcome']}, {decision['reason']}")
    for check, points in facts["live"].items():
        for point in points[-5:]:
            value = "no data" if point["value"] is None else f"{point['value']:.3f}"
            live_lines.append(f"- {check} as of {point['as_of']}: {value} against {point['threshold']}"
                              f"{' (breached)' if point['breached'] else ''}")  # fmt: skip
    lines += live_lines or ["None yet: this version has not met live traffic."]
    return "\n".join(lines) + "\n"


def slice_chart(facts: dict[str, Any], metric: str) -> str:
    """The metric per slice with its interval, as an SVG of horizontal bars."""
    from html import escape

    rows = [(where, m[metric]) for where, m in facts["metrics"].items() if m.get(metric)]
    top = max((i.high for _, i in rows if math.isfinite(i.high)), default=1.0) or 1.0
    width, bar_left, height = 520, 150, 24 * len(rows) + 30
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg"'
             f' aria-label="{escape(metric)} per slice">']  # fmt: skip

    def x(value: float) -> float:
        return bar_left + (width - bar_left - 20) * max(value, 0) / top

    for n, (where, interval) in enumerate(rows):
        y = 10 + 24 * n
        parts += [
            f'<text x="0" y="{y + 14}" font-size="12">{escape(where)}</text>',
            f'<rect x="{bar_left}" y="{y}" width="{x(interval.value) - bar_left:.1f}" height="16"'
            ' fill="#5b8def"/>',
            f'<line x1="{x(interval.low):.1f}" x2="{x(interval.high):.1f}" y1="{y + 8}" y2="{y + 8}"'
            ' stroke="#222" stroke-width="2"/>',
        ]
    return "".join([*parts, "</svg>"])


def html_card(markdown: str, facts: dict[str, Any], config: ModelConfig) -> str:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown.split("---\n", 2)[-1])
    chart = slice_chart(facts, config.gates.metric)
    style = ("body{font-family:sans-serif;max-width:60rem;margin:2rem auto;line-height:1.4}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}")  # fmt: skip
    title = f"Model card: {config.name} version {facts['version']}"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style>"
            f"</head><body>{body}<h2>{config.gates.metric} per slice (bars: value; lines: 95% interval)</h2>"
            f"{chart}</body></html>")  # fmt: skip


def write_model_card(
    platform: PlatformConfig, config: ModelConfig, client: MlflowClient, version: str
) -> str:
    """Write (or rewrite) the card of ``version``; returns the Markdown card's URI."""
    facts = card_facts(platform, config, client, version)
    markdown = markdown_card(facts, config)
    html = html_card(markdown, facts, config)
    base = f"{platform.reports_uri}/{config.name}/cards/{config.name}-v{version}"
    for suffix, text in ((".md", markdown), (".html", html)):
        with fsspec.open(base + suffix, "w", auto_mkdir=True) as out:
            out.write(text)
    client.log_text(facts["run_id"], markdown, "model_card/README.md")
    client.log_text(facts["run_id"], html, "model_card/card.html")
    client.set_model_version_tag(config.name, version, CARD_TAG, base + ".md")
    return base + ".md"


def refresh_cards(
    platform: PlatformConfig, config: ModelConfig, client: MlflowClient, *versions: str | None
) -> dict[str, str]:
    """Rewrite the cards of ``versions`` after their aliases or results changed; each
    written card's URI by version. A card that cannot be written is logged, never raised:
    the move it describes has happened."""
    import logging

    written = {}
    for version in dict.fromkeys(v for v in versions if v):
        try:
            written[version] = write_model_card(platform, config, client, version)
        except Exception:
            logging.getLogger("conveyor.card").exception(
                "%s: the card of version %s was not written", config.name, version
            )
    return written
