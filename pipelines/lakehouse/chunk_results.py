"""One GX result for a batch validated a chunk at a time: the chunks' results of the row-wise
expectations summed, and the batch-wide ones (row count, unique keys) computed over the
whole batch, so that the problems, validation.json and the HTML report read as if GX had
seen the batch whole."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.core import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )

    from pipelines.lakehouse.whole_batch import RepeatedKeys

ROW_COUNT = "expect_table_row_count_to_be_between"
UNIQUE_KEY = "expect_compound_columns_to_be_unique"
BATCH_WIDE = (ROW_COUNT, UNIQUE_KEY)
EXAMPLES = 20  # GX keeps this many unexpected values per expectation
SUMMED = ("element_count", "unexpected_count", "missing_count")


def _percents(details: dict[str, Any]) -> None:
    elements, missing = details["element_count"], details.get("missing_count", 0)
    unexpected, present = details["unexpected_count"], elements - missing
    if "missing_count" in details:
        details["missing_percent"] = 100 * missing / elements if elements else None
    details["unexpected_percent_total"] = 100 * unexpected / elements if elements else None
    details["unexpected_percent"] = 100 * unexpected / present if present else None
    details["unexpected_percent_nonmissing"] = details["unexpected_percent"]


def _merge_counts(into: list[dict[str, Any]], other: list[dict[str, Any]]) -> list[dict[str, Any]]:
    totals: dict[str, dict[str, Any]] = {}
    for entry in [*into, *other]:
        seen = totals.setdefault(repr(entry["value"]), {"value": entry["value"], "count": 0})
        seen["count"] += entry["count"]
    return sorted(totals.values(), key=lambda e: -e["count"])[:EXAMPLES]


def _merge_one(into: ExpectationValidationResult, other: ExpectationValidationResult) -> None:
    mine_raised = bool(into.exception_info.get("raised_exception"))
    if mine_raised or other.exception_info.get("raised_exception"):
        if not mine_raised:
            into.exception_info, into.result = other.exception_info, other.result
        into.success = False
        return
    mine, theirs = into.result or {}, other.result or {}
    if "element_count" in mine and "element_count" in theirs:
        for name in SUMMED:
            if name in mine:
                mine[name] += theirs.get(name, 0)
        for name in ("partial_unexpected_list", "partial_unexpected_index_list"):
            if name in mine:
                mine[name] = [*mine[name], *theirs.get(name, [])][:EXAMPLES]
        if "partial_unexpected_counts" in mine:
            mine["partial_unexpected_counts"] = _merge_counts(
                mine["partial_unexpected_counts"], theirs.get("partial_unexpected_counts", [])
            )
        _percents(mine)
    elif into.success and not other.success:
        into.result = theirs  # e.g. the type a failing chunk observed
    into.success = bool(into.success and other.success)


def merge_chunk(into: ExpectationSuiteValidationResult, other: ExpectationSuiteValidationResult) -> None:
    """Add ``other`` (the next chunk's result of the same suite) into ``into``."""
    mine = {_identity(item): item for item in into.results}
    for item in other.results:
        _merge_one(mine[_identity(item)], item)


def _identity(item: ExpectationValidationResult) -> str:
    config = item.expectation_config
    assert config is not None
    return f"{config.type}:{sorted(config.kwargs.items())!r}"


def _batch_wide(
    expectation: dict[str, Any], batch_id: str, rows: int, repeated: RepeatedKeys | None
) -> ExpectationValidationResult | None:
    from great_expectations.core import ExpectationValidationResult
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    kwargs = {"batch_id": batch_id, **expectation["kwargs"]}
    config = ExpectationConfiguration(type=expectation["type"], kwargs=kwargs)
    fine = {"raised_exception": False, "exception_traceback": None, "exception_message": None}
    if expectation["type"] == ROW_COUNT:
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        success = (low is None or rows >= low) and (high is None or rows <= high)
        return ExpectationValidationResult(
            success=success, expectation_config=config, result={"observed_value": rows}, exception_info=fine
        )
    if repeated is None:
        return None
    details = {
        "element_count": rows,
        "unexpected_count": repeated.unexpected_count,
        "missing_count": repeated.missing_count,
        "partial_unexpected_list": repeated.examples,
        "partial_unexpected_counts": [{"value": v, "count": n} for v, n in repeated.counts],
    }
    _percents(details)
    mostly = kwargs.get("mostly", 1.0)
    present = rows - repeated.missing_count
    success = repeated.unexpected_count <= (1 - mostly) * present + 1e-9
    return ExpectationValidationResult(
        success=success, expectation_config=config, result=details, exception_info=fine
    )


def _is_table(item: ExpectationValidationResult) -> bool:
    return item.expectation_config is not None and item.expectation_config.type.startswith("expect_table")


def add_batch_wide(
    result: ExpectationSuiteValidationResult,
    expectations: list[dict[str, Any]],
    rows: int,
    repeated: RepeatedKeys | None,
) -> None:
    """Put the batch-wide ``expectations`` (parameters filled in) into ``result`` where GX puts
    them (after the other table-level ones) and recount the statistics."""
    batch_id = str(
        next(
            (i.expectation_config.kwargs.get("batch_id") for i in result.results if i.expectation_config), ""
        )
    )
    added = [_batch_wide(e, batch_id, rows, repeated) for e in expectations]
    table = [_is_table(i) for i in result.results]
    result.results = [
        *(i for i, t in zip(result.results, table, strict=True) if t),
        *(a for a in added if a is not None),
        *(i for i, t in zip(result.results, table, strict=True) if not t),
    ]
    passed = sum(1 for i in result.results if i.success)
    result.success = passed == len(result.results)
    result.statistics.update(
        evaluated_expectations=len(result.results),
        successful_expectations=passed,
        unsuccessful_expectations=len(result.results) - passed,
        success_percent=100 * passed / len(result.results) if result.results else None,
    )
