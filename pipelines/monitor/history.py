"""The monitor's results over time, as the Models view plots them: live error and drift
share per day, each against its threshold, read from the JSON summaries the monitor writes
(``reports/<model>/performance-<day>.json``, ``drift-<day>.json`` beside Evidently's HTML)."""

from __future__ import annotations

import json
import re
from typing import Any

import fsspec

CHECKS = ("performance", "drift")
# The monitor names its files <check>-<YYYY-MM-DD>.json; anything else in the folder is not a check.
_CHECK_FILE = re.compile(r"^(performance|drift)-(\d{4}-\d{2}-\d{2})\.json$")
REPORT_FILE = re.compile(r"^drift-\d{4}-\d{2}-\d{2}\.html$")


def check_history(reports_uri: str, model: str) -> dict[str, list[dict[str, Any]]]:
    """Per check, one point per day it ran, oldest first: the value (None while there was
    nothing to measure), its threshold, the rows behind it, whether it breached, the
    champion it measured and, for drift, the name of Evidently's HTML report."""
    fs, folder = fsspec.core.url_to_fs(f"{reports_uri}/{model}")
    history: dict[str, list[dict[str, Any]]] = {check: [] for check in CHECKS}
    if not fs.isdir(folder):
        return history
    for path in sorted(fs.ls(folder, detail=False)):
        name = str(path).rsplit("/", 1)[-1]
        matched = _CHECK_FILE.match(name)
        if matched is None:
            continue
        with fs.open(path, "r") as summary:
            result = json.load(summary)
        history[matched.group(1)].append(_point(fs, folder, result))
    for points in history.values():
        points.sort(key=lambda point: point["as_of"])
    return history


def check_chart(points: list[dict[str, Any]], *, title: str, threshold: float | None) -> str:
    """A check's value per day (``check_history``'s points), breaches in red, against its
    threshold: the Models view's chart, and the one each monitoring run saves."""
    from pipelines.monitor.charts import line_chart

    return line_chart(
        [p["as_of"] for p in points],
        [p["value"] for p in points],
        title=title,
        threshold=threshold,
        flagged=[p["breached"] for p in points],
    )


def _point(fs: Any, folder: str, result: dict[str, Any]) -> dict[str, Any]:
    details = result.get("details", {})
    report = str(result.get("report_uri", "")).rsplit("/", 1)[-1]
    return {
        "as_of": result["as_of"],
        "value": result.get("value"),
        "threshold": result.get("threshold"),
        "rows": result.get("rows", 0),
        "breached": bool(result.get("breached")),
        "champion_version": str(result.get("champion_version", "")),
        "on_breach": result.get("on_breach", "retrain"),
        "drifted_columns": details.get("drifted_columns", []),
        "note": details.get("note", ""),
        # Only drift writes an HTML report; performance names one it never writes.
        "report": report if REPORT_FILE.match(report) and fs.exists(f"{folder}/{report}") else "",
    }
