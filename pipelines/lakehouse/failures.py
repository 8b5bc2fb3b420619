"""What a failed validation says: each broken expectation in a line a person can act on, and
the HTML report."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult

TYPE_CHECK = "expect_column_values_to_be_in_type_list"


def render_html(result: ExpectationSuiteValidationResult) -> str:
    """The human-readable page GX's Data Docs would show for this result."""
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    return str(DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(result)))


def replace_missing_values(result: ExpectationSuiteValidationResult) -> None:
    """pandas' NA in GX's example values breaks GX's own HTML renderer; None renders fine."""
    import pandas as pd

    for item in result.results:
        details = item.result or {}
        if "partial_unexpected_list" in details:
            details["partial_unexpected_list"] = [
                None if v is pd.NA else v for v in details["partial_unexpected_list"]
            ]
        for count in details.get("partial_unexpected_counts") or []:
            if count.get("value") is pd.NA:
                count["value"] = None


def _show(value: Any) -> str:
    """A value as a person would write it: 0 not 0.0, 2024-01-18 not 2024-01-18 00:00:00."""
    import numpy as np
    import pandas as pd

    if isinstance(value, np.generic):  # numpy scalars from GX: datetime64 has no isoformat
        value = pd.Timestamp(value) if isinstance(value, np.datetime64) else value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat") and getattr(value, "hour", 0) == 0 and getattr(value, "minute", 0) == 0:
        return str(value.isoformat()).split("T")[0]
    if isinstance(value, str) and len(value) > 40:
        return f"{value[:37]}..."
    return str(value)


def _examples(result: dict[str, Any]) -> str:
    values = result.get("partial_unexpected_list") or []
    shown = ", ".join(_show(v) for v in values[:3])
    return f", e.g. {shown}" if shown else ""


def _failures(result: ExpectationSuiteValidationResult) -> list[Any]:
    return [item for item in result.results if not item.success and item.expectation_config]


def _columns_of(kwargs: dict[str, Any]) -> set[str]:
    named = [
        kwargs.get("column"),
        kwargs.get("column_A"),
        kwargs.get("column_B"),
        *(kwargs.get("column_list") or []),
    ]
    return {column for column in named if column}


def _broken_columns(result: ExpectationSuiteValidationResult) -> tuple[set[str], set[str]]:
    """The columns missing from the batch, and those of a wrong type: every other failure on
    them follows from that and would only repeat it."""
    missing: set[str] = set()
    mistyped: set[str] = set()
    for item in _failures(result):
        kind, kwargs, details = (
            item.expectation_config.type,
            item.expectation_config.kwargs,
            item.result,
        )
        if kind == "expect_table_columns_to_match_set":
            missing |= set(kwargs["column_set"]) - set(details.get("observed_value") or [])
        elif kind == TYPE_CHECK:
            mistyped.add(kwargs["column"])
    return missing, mistyped


def _order_problem(kwargs: dict[str, Any], details: dict[str, Any]) -> str:
    """Rows where column_B is not below column_A (or above it, with or_equal)."""
    high, low = kwargs["column_A"], kwargs["column_B"]
    wrong, sign = ("above", ">") if kwargs.get("or_equal") else ("not below", ">=")
    pairs = [f"{_show(b)} {sign} {_show(a)}" for a, b in (details.get("partial_unexpected_list") or [])[:3]]
    examples = f", e.g. {', '.join(pairs)}" if pairs else ""
    return f"{details.get('unexpected_count')} rows have {low!r} {wrong} {high!r}{examples}"


def _exception_message(info: dict[str, Any]) -> str | None:
    # GX reports an exception either flat or keyed by the metric that raised it.
    if info.get("exception_message"):
        return str(info["exception_message"])
    nested = [v.get("exception_message") for v in info.values() if isinstance(v, dict)]
    return next((str(m) for m in nested if m), None)


def describe_failures(
    result: ExpectationSuiteValidationResult, date_columns: Collection[str] = ()
) -> list[str]:
    """One sentence per failed expectation, in the words a data owner would use;
    ``date_columns`` are told that a date must be written YYYY-MM-DD."""
    problems = []
    missing, mistyped = _broken_columns(result)
    for item in _failures(result):
        kind = item.expectation_config.type
        kwargs = item.expectation_config.kwargs
        column = kwargs.get("column")
        details = item.result or {}
        exception = _exception_message(item.exception_info or {})
        count = details.get("unexpected_count")
        columns = _columns_of(kwargs)
        if columns & missing or (kind != TYPE_CHECK and columns & mistyped):
            continue
        if exception:
            problems.append(f"{kind} on {column!r} could not run: {exception}")
        elif kind == "expect_table_columns_to_match_set":
            observed = set(details.get("observed_value") or [])
            expected = set(kwargs["column_set"])
            problems.append(
                "columns do not match the schema:"
                f" missing {sorted(expected - observed) or 'none'},"
                f" unexpected {sorted(observed - expected) or 'none'}"
            )
        elif kind == "expect_table_row_count_to_be_between":
            problems.append(
                f"the batch has {details.get('observed_value')} rows; allowed"
                f" {kwargs.get('min_value')} to {kwargs.get('max_value')}"
            )
        elif kind == "expect_column_values_to_not_be_null":
            problems.append(
                f"column {column!r} has {count} missing or unparseable values (dates must be YYYY-MM-DD)"
                if column in date_columns
                else f"column {column!r} has {count} missing or unparseable values"
            )
        elif kind == TYPE_CHECK:
            problems.append(
                f"column {column!r} has values of type {details.get('observed_value')};"
                f" expected {' or '.join(kwargs['type_list'])}"
            )
        elif kind == "expect_column_values_to_be_between":
            problems.append(
                f"column {column!r} has {count} values outside"
                f" [{_show(kwargs.get('min_value'))}, {_show(kwargs.get('max_value'))}]"
                f"{_examples(details)}"
            )
        elif kind == "expect_column_values_to_be_in_set":
            allowed = ", ".join(_show(v) for v in kwargs["value_set"])
            problems.append(f"column {column!r} has {count} values not in {{{allowed}}}{_examples(details)}")
        elif kind == "expect_column_value_lengths_to_be_between":
            problems.append(
                f"column {column!r} has {count} values shorter than {kwargs.get('min_value')} or longer"
                f" than {kwargs.get('max_value')} characters{_examples(details)}"
            )
        elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
            problems.append(_order_problem(kwargs, details))
        elif kind == "expect_column_values_to_match_regex":
            problems.append(
                f"column {column!r} has {count} values not matching {kwargs['regex']}{_examples(details)}"
            )
        elif kind == "expect_compound_columns_to_be_unique":
            problems.append(
                f"{count} rows share a key ({', '.join(kwargs['column_list'])}) with another"
                " row but carry different values"
            )
        else:
            problems.append(f"{kind} failed on {column or 'the table'}{_examples(details)}")
    return problems
